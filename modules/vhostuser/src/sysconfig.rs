//! Placeholder: the sysconfig parser and editor are being written.
