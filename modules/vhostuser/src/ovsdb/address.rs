//! OVS's connection-method syntax, reduced to the one method a module on the node needs.

use std::path::PathBuf;

use super::Error;

/// The socket path of an OVSDB address: `unix:<absolute path>` or a bare absolute path.
///
/// Every other OVS method is refused with the reason: the module runs on the node itself, next
/// to ovsdb-server, so the local socket is always there and needs no certificates or open port.
pub fn socket_path(address: &str) -> Result<PathBuf, Error> {
    let refuse = |reason: String| Error::Address {
        address: address.to_owned(),
        reason,
    };
    let path = if let Some(path) = address.strip_prefix("unix:") {
        path
    } else if address.starts_with('/') {
        address
    } else if let Some((method, _)) = address.split_once(':') {
        return Err(refuse(match method {
            "punix" | "ptcp" | "pssl" => format!(
                "{method}: is the listening side, for ovsdb-server itself; a client connects \
                 with unix:<path>"
            ),
            _ => format!(
                "{method}: is not supported, only unix:<path> is: this module runs on the node \
                 itself and talks to the local ovsdb-server socket"
            ),
        }));
    } else {
        return Err(refuse(
            "expected unix:<absolute path>, e.g. unix:/var/run/openvswitch/db.sock".to_owned(),
        ));
    };
    if !path.starts_with('/') {
        return Err(refuse(
            "the socket path must be absolute: a module's working directory is not predictable"
                .to_owned(),
        ));
    }
    Ok(PathBuf::from(path))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn unix_and_bare_absolute_paths_are_accepted() {
        let expected = PathBuf::from("/var/run/openvswitch/db.sock");
        assert_eq!(
            socket_path("unix:/var/run/openvswitch/db.sock").unwrap(),
            expected
        );
        assert_eq!(
            socket_path("/var/run/openvswitch/db.sock").unwrap(),
            expected
        );
    }

    #[test]
    fn other_methods_and_relative_paths_are_refused_with_the_reason() {
        for (address, words) in [
            ("tcp:127.0.0.1:6640", "only unix:<path> is"),
            ("ssl:10.0.0.1:6640", "only unix:<path> is"),
            ("punix:/tmp/db.sock", "listening side"),
            ("unix:db.sock", "must be absolute"),
            ("db.sock", "expected unix:"),
            ("", "expected unix:"),
        ] {
            let message = socket_path(address).unwrap_err().to_string();
            assert!(message.contains(words), "{address}: {message}");
            assert!(
                message.starts_with(&format!("unsupported OVSDB address '{address}': ")),
                "{address}: {message}"
            );
        }
    }
}
