//! The vhost-user domain: everything nfv.vhostuser knows about Open vSwitch, libvirt and QEMU,
//! as pure parsers and editors with their I/O at the edge. Nothing here speaks Ansible.

pub mod ovsdb;
pub mod qemu_conf;
pub mod sysconfig;
