//! A finding: what is wrong, why it matters, and what fixes it.

use serde::Serialize;

use super::checks::catalogue::CheckId;
pub use super::severity::Severity;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The check's stable id.
    pub id: CheckId,
    pub severity: Severity,
    /// What it is about: an interface, a domain, a path, a setting.
    pub subject: String,
    /// What is wrong and why it matters.
    pub message: String,
    /// What fixes it (a module or playbook of this collection where one does).
    pub fix: String,
}

impl Finding {
    pub fn new(
        id: CheckId,
        severity: Severity,
        subject: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            id,
            severity,
            subject: subject.into(),
            message: message.into(),
            fix: fix.into(),
        }
    }
}
