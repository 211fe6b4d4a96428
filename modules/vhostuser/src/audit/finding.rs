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

/// Findings of one check and severity, with every subject they apply to: the audit's answer
/// grows with the number of distinct problems, not with the number of ports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingGroup {
    pub id: CheckId,
    pub severity: Severity,
    /// Every subject, in the order the checks reported them.
    pub subjects: Vec<String>,
    /// What is wrong and why, for the first subject; the others' messages differ only in the
    /// names they give (an interface's domain, a socket's path), which the pairing table holds.
    pub message: String,
    /// What fixes it, for the first subject.
    pub fix: String,
}

/// Groups findings by check id and severity, in the order each group first appears.
#[must_use]
pub fn group(findings: &[Finding]) -> Vec<FindingGroup> {
    let mut groups: Vec<FindingGroup> = Vec::new();
    let mut index: std::collections::HashMap<(CheckId, Severity), usize> =
        std::collections::HashMap::new();
    for f in findings {
        if let Some(&i) = index.get(&(f.id, f.severity)) {
            groups[i].subjects.push(f.subject.clone());
            continue;
        }
        index.insert((f.id, f.severity), groups.len());
        groups.push(FindingGroup {
            id: f.id,
            severity: f.severity,
            subjects: vec![f.subject.clone()],
            message: f.message.clone(),
            fix: f.fix.clone(),
        });
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(id: CheckId, severity: Severity, subject: &str) -> Finding {
        Finding::new(
            id,
            severity,
            subject,
            format!("{subject} is wrong"),
            format!("fix {subject}"),
        )
    }

    #[test]
    fn one_group_per_check_and_severity_in_first_seen_order() {
        let findings = [
            finding(CheckId::LegacyPort, Severity::Warning, "vhu0"),
            finding(CheckId::NotConnected, Severity::Error, "vhu0"),
            finding(CheckId::LegacyPort, Severity::Warning, "vhu1"),
            finding(CheckId::NotConnected, Severity::Warning, "vhu2"),
            finding(CheckId::LegacyPort, Severity::Warning, "vhu2"),
        ];
        let groups = group(&findings);
        let shape: Vec<(&str, Severity, Vec<&str>)> = groups
            .iter()
            .map(|g| {
                (
                    g.id.as_str(),
                    g.severity,
                    g.subjects.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                (
                    "legacy_port",
                    Severity::Warning,
                    vec!["vhu0", "vhu1", "vhu2"]
                ),
                ("not_connected", Severity::Error, vec!["vhu0"]),
                ("not_connected", Severity::Warning, vec!["vhu2"]),
            ]
        );
        assert_eq!(groups[0].message, "vhu0 is wrong");
        assert_eq!(groups[0].fix, "fix vhu0");
    }

    #[test]
    fn nothing_found_is_no_group() {
        assert!(group(&[]).is_empty());
    }
}
