//! One config-file edit, the same for every module: read → parse and edit (the module's part)
//! → backup → write → diff → result. The file's lock is held from the read to the write, so a
//! concurrent edit is never lost; only a regular file is read or written; check mode writes
//! nothing; every failure says what was (not) done, in the same words in every module.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::time::Duration;

use safe_file::{Current, FileError, Kind, Replaced};

use crate::{Ctx, Diff, Failure, ModuleResult, files};

/// How long a run waits for another writer of the same file.
const LOCK_WAIT: Duration = Duration::from_secs(30);
/// How often an edit is redone because a program that takes no lock replaced the file.
const ATTEMPTS: usize = 5;

/// What to do when the file does not exist.
#[derive(Debug, Clone)]
pub enum Missing {
    /// Fail with this message.
    Refuse(String),
    /// Call the edit with no content; it may produce a new file.
    Allow,
}

/// The file a task edits, and how.
#[derive(Debug, Clone)]
pub struct FileEdit<'a> {
    pub path: &'a Path,
    /// What the file is, for messages: "the qemu.conf file".
    pub what: &'a str,
    /// The mode of a file the edit creates.
    pub new_mode: u32,
    pub backup: bool,
    pub missing: Missing,
}

/// What an edit decided: the new content (`None` to leave the file as it is) and whatever else
/// the module wants to report.
#[derive(Debug)]
pub struct Edit<T> {
    pub content: Option<Vec<u8>>,
    pub outcome: T,
}

/// What was done: `changed` means written (or, in check mode, would be).
#[derive(Debug)]
pub struct Edited<T> {
    pub changed: bool,
    /// The file as read; `None` when it did not exist.
    pub before: Option<Vec<u8>>,
    pub after: Vec<u8>,
    pub backup: Option<PathBuf>,
    pub outcome: T,
}

impl Ctx {
    /// Edits a file: `edit` gets its content as read under the lock (`None` when missing) and
    /// returns the new content. It may run more than once when another program replaces the
    /// file meanwhile, so it must only compute. On a change, the diff and `backup_file` are
    /// added to `result`.
    pub fn edit_file<T>(
        &self,
        file: &FileEdit<'_>,
        result: &mut ModuleResult,
        mut edit: impl FnMut(Option<&[u8]>) -> Result<Edit<T>, Failure>,
    ) -> Result<Edited<T>, Failure> {
        let display = file.path.display().to_string();
        for _ in 0..ATTEMPTS {
            let current = match safe_file::open_locked(file.path, LOCK_WAIT) {
                Ok(current) => current,
                Err(FileError::NoDirectory(_) | FileError::NotFound)
                    if matches!(file.missing, Missing::Refuse(_)) =>
                {
                    return Err(missing_failure(file));
                }
                Err(FileError::NoDirectory(dir)) => {
                    // Nothing to read; the edit may still decide there is nothing to write.
                    let decided = edit(None)?;
                    if decided.content.is_some() {
                        return Err(Failure::new(format!(
                            "{display} does not exist and cannot be created: its directory {} does \
                             not exist",
                            dir.display()
                        )));
                    }
                    return Ok(unchanged(None, decided.outcome));
                }
                Err(e) => return Err(read_failure(file, &e)),
            };
            if current.content().is_none() {
                if let Missing::Refuse(_) = file.missing {
                    return Err(missing_failure(file));
                }
            }
            let decided = edit(current.content())?;
            let before = current.content().map(<[u8]>::to_vec);
            let Some(after) = decided
                .content
                .filter(|after| Some(after.as_slice()) != before.as_deref())
            else {
                return Ok(unchanged(before, decided.outcome));
            };
            let backup = if self.check_mode {
                None
            } else {
                match write(file, &current, &after)? {
                    Wrote::Done(backup) => backup,
                    Wrote::Raced => continue,
                }
            };
            if let Some(path) = &backup {
                result.set("backup_file", path.to_string_lossy());
            }
            result.diff.push(Diff::file(
                &display,
                String::from_utf8_lossy(before.as_deref().unwrap_or_default()),
                String::from_utf8_lossy(&after),
            ));
            return Ok(Edited {
                changed: true,
                before,
                after,
                backup,
                outcome: decided.outcome,
            });
        }
        Err(Failure::new(format!(
            "could not write {display} (it was left unchanged): another program replaced it each \
             time it was edited; run the task again"
        )))
    }
}

enum Wrote {
    /// Written, with the backup made first if one was asked for.
    Done(Option<PathBuf>),
    /// Another program replaced the file meanwhile: nothing written, any backup removed.
    Raced,
}

/// Backs up (when asked and there is something to back up) and replaces.
fn write(file: &FileEdit<'_>, current: &Current, after: &[u8]) -> Result<Wrote, Failure> {
    let display = file.path.display();
    let backup = match (file.backup, current.content()) {
        (true, Some(_)) => {
            let path = files::backup_path(file.path);
            safe_file::backup_to(current, &path)
                .map_err(|e| Failure::new(format!("could not back up {display}: {e}")))?;
            Some(path)
        }
        _ => None,
    };
    let remove_backup = || {
        if let Some(path) = &backup {
            let _ = std::fs::remove_file(path);
        }
    };
    match current.replace(after, file.new_mode) {
        Ok(Replaced::Done) => Ok(Wrote::Done(backup)),
        Ok(Replaced::Raced) => {
            remove_backup();
            Ok(Wrote::Raced)
        }
        Err(e) => {
            remove_backup();
            Err(Failure::new(format!(
                "could not write {display} (it was left unchanged{}): {e}",
                if backup.is_some() {
                    ", and no backup was kept"
                } else {
                    ""
                }
            )))
        }
    }
}

fn unchanged<T>(before: Option<Vec<u8>>, outcome: T) -> Edited<T> {
    let after = before.clone().unwrap_or_default();
    Edited {
        changed: false,
        before,
        after,
        backup: None,
        outcome,
    }
}

fn missing_failure(file: &FileEdit<'_>) -> Failure {
    match &file.missing {
        Missing::Refuse(msg) => Failure::new(msg.clone()),
        Missing::Allow => Failure::new(format!("{} does not exist", file.path.display())),
    }
}

/// Why the file could not be read; a file that is not a regular one is named for what it is.
fn read_failure(file: &FileEdit<'_>, e: &FileError) -> Failure {
    let display = file.path.display();
    Failure::new(match e {
        FileError::NotRegular(Kind::Directory) => format!(
            "{display} is a directory (only a regular file is edited); give the path of {} itself",
            file.what
        ),
        FileError::NotRegular(kind) => format!(
            "{display} is {}, not a regular file (a link is followed, as Ansible does); only a \
             regular file is edited, so nothing was written; give the path of {} itself",
            kind.describe(),
            file.what
        ),
        e => format!("could not read {display}: {e}; nothing was written"),
    })
}

/// The message for a file whose content does not parse; the same in every module.
#[must_use]
pub fn unparsable(path: &Path, e: impl Display) -> Failure {
    Failure::new(format!(
        "could not parse {}: {e}; fix it by hand, it was left unchanged",
        path.display()
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("edit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[allow(clippy::unnecessary_wraps)] // the shape edit_file asks for
    fn upper(before: Option<&[u8]>) -> Result<Edit<()>, Failure> {
        Ok(Edit {
            content: Some(before.unwrap_or(b"new").to_ascii_uppercase()),
            outcome: (),
        })
    }

    fn spec(path: &Path, missing: Missing) -> FileEdit<'_> {
        FileEdit {
            path,
            what: "the test file",
            new_mode: 0o600,
            backup: true,
            missing,
        }
    }

    #[test]
    fn check_mode_reports_the_diff_and_writes_nothing() {
        let dir = scratch("check");
        let path = dir.join("f");
        std::fs::write(&path, "abc").unwrap();
        let ctx = Ctx {
            check_mode: true,
            ..Ctx::default()
        };
        let mut result = ModuleResult::new(false);
        let edited = ctx
            .edit_file(&spec(&path, Missing::Allow), &mut result, upper)
            .unwrap();
        assert!(edited.changed && edited.backup.is_none());
        assert_eq!(result.diff[0].after, "ABC");
        assert_eq!(std::fs::read(&path).unwrap(), b"abc");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    }

    #[test]
    fn a_change_is_backed_up_written_and_diffed() {
        let dir = scratch("write");
        let path = dir.join("f");
        std::fs::write(&path, "abc").unwrap();
        let mut result = ModuleResult::new(false);
        let edited = Ctx::default()
            .edit_file(&spec(&path, Missing::Allow), &mut result, upper)
            .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"ABC");
        assert_eq!(std::fs::read(edited.backup.unwrap()).unwrap(), b"abc");
        assert!(result.fields.contains_key("backup_file"));
        let again = Ctx::default()
            .edit_file(&spec(&path, Missing::Allow), &mut result, upper)
            .unwrap();
        assert!(!again.changed);
    }

    #[test]
    fn missing_files_and_non_regular_ones_are_refused_in_the_module_s_words() {
        let dir = scratch("refused");
        let missing = dir.join("missing");
        let mut result = ModuleResult::new(false);
        let refuse = Missing::Refuse("missing is missing".into());
        let err = Ctx::default()
            .edit_file(&spec(&missing, refuse), &mut result, upper)
            .unwrap_err();
        assert_eq!(err.msg, "missing is missing");
        let err = Ctx::default()
            .edit_file(&spec(&dir, Missing::Allow), &mut result, upper)
            .unwrap_err();
        assert!(
            err.msg.ends_with(
                " is a directory (only a regular file is edited); give the path of the test file itself"
            ),
            "{}",
            err.msg
        );
        let err = Ctx::default()
            .edit_file(
                &spec(Path::new("/dev/null"), Missing::Allow),
                &mut result,
                upper,
            )
            .unwrap_err();
        assert!(
            err.msg.starts_with(
                "/dev/null is a character device, not a regular file (a link is followed, as \
                 Ansible does); only a regular file is edited, so nothing was written"
            ),
            "{}",
            err.msg
        );
        let err = Ctx::default()
            .edit_file(&spec(&dir.join("no/f"), Missing::Allow), &mut result, upper)
            .unwrap_err();
        assert!(
            err.msg.contains("cannot be created: its directory"),
            "{}",
            err.msg
        );
        assert!(result.diff.is_empty());
    }
}
