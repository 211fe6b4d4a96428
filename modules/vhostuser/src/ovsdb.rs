//! Placeholder: the OVSDB client is being written.
