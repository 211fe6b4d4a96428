//! Domain XML files from a directory, for hosts without virsh: `/etc/libvirt/qemu` (the
//! persistent definitions) or `/run/libvirt/qemu` (libvirt's status files of the running
//! domains, `<domstatus>` around the live `<domain>`).

use std::fs;
use std::path::{Path, PathBuf};

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use super::domain::Domain;
use super::error::{DomainError, Error, serialize_outcome};
use super::xml::{XmlError, parse_domain};

/// One `*.xml` file with its domain, or why it could not be read. Serialized as `path`,
/// `domain` and `error`, one of the last two null.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainFile {
    pub path: PathBuf,
    pub domain: Result<Domain, DomainError>,
}

impl Serialize for DomainFile {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut state = serializer.serialize_struct("DomainFile", 3)?;
        state.serialize_field("path", &self.path.to_string_lossy())?;
        serialize_outcome(&mut state, &self.domain)?;
        state.end()
    }
}

/// Every file named `*.xml` directly in `dir` (subdirectories such as `autostart/` and
/// `networks/` are not entered), sorted by name. A file that cannot be read or parsed is
/// reported in its entry; only an unreadable directory fails the whole call.
pub fn read_dir_xml(dir: &Path) -> Result<Vec<DomainFile>, Error> {
    let read_dir = |source| Error::ReadDir {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir).map_err(read_dir)? {
        let path = entry.map_err(read_dir)?.path();
        // Follows a symlink to a file, as libvirt would read it.
        if path.extension().is_some_and(|e| e == "xml") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths
        .into_iter()
        .map(|path| DomainFile {
            domain: read_file(&path),
            path,
        })
        .collect())
}

/// Reads and parses one domain XML file.
pub fn read_file(path: &Path) -> Result<Domain, DomainError> {
    let bytes = fs::read(path).map_err(|e| DomainError::Read(e.to_string()))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        XmlError::at(
            &bytes,
            e.valid_up_to(),
            "not UTF-8 (libvirt writes its XML in UTF-8)",
        )
    })?;
    Ok(parse_domain(text)?)
}
