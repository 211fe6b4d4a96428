//! Placeholder: the libvirt domain reader is being written.
