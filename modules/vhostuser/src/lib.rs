//! The vhost-user domain: everything nfv.vhostuser knows about Open vSwitch, libvirt and QEMU,
//! as pure parsers and editors with their I/O at the edge. Nothing here speaks Ansible.

pub mod audit;
pub mod identity;
pub mod libvirt;
pub mod nofollow;
pub mod ovs_type;
pub mod ovsdb;
pub mod procfs;
pub mod qemu_conf;
pub mod qemu_procs;
pub mod roots;
pub mod selinux;
pub mod sysconfig;
pub mod text;
pub mod unix_sockets;
pub mod vhost_ports;

/// How many examples a message or a result lists before it says how many more there are.
pub const SAMPLE_SIZE: usize = 10;

pub use ovs_type::OvsType;
pub use roots::Roots;
