//! A finding: what is wrong, why it matters, and what fixes it.

use serde::Serialize;

use super::checks::CheckId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

impl Severity {
    /// Every severity, mildest first.
    pub const ALL: [Severity; 4] = [
        Severity::Info,
        Severity::Warning,
        Severity::Error,
        Severity::Critical,
    ];

    /// The lowercase name the JSON, `fail_on` and the counts use.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }

    #[must_use]
    pub fn parse(text: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

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
