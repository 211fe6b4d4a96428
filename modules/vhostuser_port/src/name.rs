//! Which interface names this module accepts: names that are safe as the socket file name
//! they become (`<socket_dir>/<name>` for `dpdkvhostuserclient`, `<vhost-sock-dir>/<name>`
//! for `dpdkvhostuser`), by the rules Open vSwitch and the kernel apply to them.

use ansible_module::Failure;
use vhostuser::text::quoted;

/// Refuses a name that cannot be the last component of a socket path, saying why:
/// - empty, `.` or `..`: no file of its own, the directory itself or its parent (the
///   kernel's `dev_valid_name` refuses them for the same reason);
/// - `/` or `\`: ovs-vswitchd refuses them in a vhost-user port name (netdev-dpdk), since the
///   name is appended to the socket directory and would leave it;
/// - whitespace or control characters (a newline, a NUL): the kernel refuses whitespace in
///   interface names, and a newline breaks every line-based view of sockets
///   (`/proc/net/unix`, `ovs-vsctl` output).
///
/// The kernel's 15-byte limit (IFNAMSIZ) and its ban on `:` are not applied: a vhost-user
/// interface is no kernel network device, and the socket path has its own limit, checked with
/// the server path.
pub(crate) fn check(name: &str) -> Result<(), Failure> {
    let why = if name.is_empty() {
        Some("it is empty".to_owned())
    } else if name == "." || name == ".." {
        Some(format!(
            "as a socket file name it would be the socket directory{} itself, not a socket in it",
            if name == ".." { "'s parent" } else { "" }
        ))
    } else if let Some(c) = name.chars().find(|c| matches!(c, '/' | '\\')) {
        Some(format!(
            "it contains {}; ovs-vswitchd refuses '/' and '\\' in a vhost-user port name, \
             because the name becomes a file name in the socket directory",
            quoted(c.encode_utf8(&mut [0; 4]))
        ))
    } else {
        name.chars()
            .find(|c| c.is_whitespace() || c.is_control())
            .map(|c| {
                format!(
                    "it contains {}; interface names hold no whitespace or control characters",
                    quoted(c.encode_utf8(&mut [0; 4]))
                )
            })
    };
    match why {
        None => Ok(()),
        Some(why) => Err(Failure::new(format!(
            "name {} is not a valid vhost-user interface name: {why}",
            quoted(name)
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_neutron_and_operators_use_are_accepted() {
        for name in [
            "vhu3f5a1c2b-4e",
            "vhost-user-client-1",
            "dpdkvhostuserclient0",
            "a:b",
            "x",
        ] {
            assert!(check(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn names_that_are_no_socket_file_are_refused_with_the_reason() {
        for (name, shown, words) in [
            ("", "''", "it is empty"),
            (".", "'.'", "the socket directory itself"),
            ("..", "'..'", "the socket directory's parent itself"),
            ("../etc", "'../etc'", "contains '/'"),
            ("a\\b", r"'a\\b'", r"contains '\\'"),
            ("vhu1\n", r"'vhu1\n'", r"contains '\n'"),
            ("vhu 1", "'vhu 1'", "contains ' '"),
            ("vhu\t1", r"'vhu\t1'", r"contains '\t'"),
            ("vhu\u{0}1", r"'vhu\01'", r"contains '\0'"),
        ] {
            let msg = check(name).unwrap_err().msg;
            assert!(msg.contains(words), "{name:?}: {msg}");
            assert!(
                msg.starts_with(&format!(
                    "name {shown} is not a valid vhost-user interface name: "
                )),
                "{msg}"
            );
        }
    }
}
