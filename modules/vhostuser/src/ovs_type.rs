//! Open vSwitch's two vhost-user interface types, spelled once: the JSON, the OVSDB rows, the
//! module options and the messages all go through [`OvsType::as_str`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// An Open vSwitch vhost-user interface type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OvsType {
    /// The legacy type: Open vSwitch listens on `<rundir>/<name>` and QEMU connects, so
    /// restarting Open vSwitch cuts the VM.
    #[serde(rename = "dpdkvhostuser")]
    DpdkVhostUser,
    /// The client type: QEMU listens on `options:vhost-server-path` and Open vSwitch
    /// reconnects after a restart.
    #[serde(rename = "dpdkvhostuserclient")]
    DpdkVhostUserClient,
}

impl OvsType {
    /// Both types, the legacy one first (the order the audit reads them in).
    pub const ALL: [OvsType; 2] = [OvsType::DpdkVhostUser, OvsType::DpdkVhostUserClient];

    /// Open vSwitch's spelling, as in the `type` column.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            OvsType::DpdkVhostUser => "dpdkvhostuser",
            OvsType::DpdkVhostUserClient => "dpdkvhostuserclient",
        }
    }

    /// Open vSwitch's spelling; any other type is `None`.
    #[must_use]
    pub fn parse(text: &str) -> Option<OvsType> {
        OvsType::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// Whether Open vSwitch is the client on the socket (QEMU listens).
    #[must_use]
    pub fn is_client(self) -> bool {
        self == OvsType::DpdkVhostUserClient
    }

    /// Whether this is the deprecated type that the collection migrates away from.
    #[must_use]
    pub fn is_legacy(self) -> bool {
        self == OvsType::DpdkVhostUser
    }
}

impl fmt::Display for OvsType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for OvsType {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for OvsType {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn spelling_round_trips_through_parse_and_serde() {
        for kind in OvsType::ALL {
            assert_eq!(OvsType::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
            assert_eq!(serde_json::from_str::<OvsType>(&json).unwrap(), kind);
        }
        assert_eq!(OvsType::parse("dpdk"), None);
        assert_eq!(OvsType::parse("DPDKVHOSTUSER"), None);
    }

    #[test]
    fn only_the_client_type_is_the_client() {
        assert!(OvsType::DpdkVhostUserClient.is_client());
        assert!(!OvsType::DpdkVhostUser.is_client());
        assert!(OvsType::DpdkVhostUser.is_legacy());
        assert!(!OvsType::DpdkVhostUserClient.is_legacy());
    }
}
