//! The text side of talking to virsh: several commands in one `;`-separated argument, each
//! followed by `echo <marker>`, and the output cut back into one section per command at those
//! markers. Pure functions, so that the splitting is tested without virsh.

use std::ops::Range;
use std::process;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Keeps one virsh argument well below Linux's 128 KiB limit on a single argument
/// (`MAX_ARG_STRLEN`), past which `execve` fails with E2BIG, and short enough that virsh parses
/// it quickly: its parsing grows faster than the argument (2,000 commands take about four
/// times as long as 1,000). About 1,500 nova-named domains fit; beyond that the dump takes one
/// more process per this many bytes, a few of them at once.
pub(crate) const SCRIPT_LIMIT: usize = 48 * 1024;

/// Quotes `arg` for virsh's own command-line parser (`vshCommandStringGetArg`), which follows
/// the shell: inside single quotes everything is literal, and outside them a backslash escapes
/// the next character. So `it's` becomes `'it'\''s'`. Blanks, `;`, `"`, `#`, `$` and
/// backslashes need nothing more inside the quotes.
#[must_use]
pub fn quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}

/// Markers unique to one run: `echo` prints them on a line of their own, and no domain XML
/// holds a line ending in one by chance. Letters, digits and `-`, not starting with `-`, so
/// `echo` takes them as text, never as an option.
#[derive(Debug, Clone)]
pub(crate) struct Marker {
    prefix: String,
}

impl Marker {
    pub(crate) fn new() -> Marker {
        static RUNS: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| {
            u64::from(d.subsec_nanos()) ^ d.as_secs().rotate_left(32)
        });
        let nonce = nanos
            ^ u64::from(process::id()).rotate_left(17)
            ^ RUNS.fetch_add(1, Ordering::Relaxed).rotate_left(48);
        Marker {
            prefix: format!("nfv-vhostuser-{nonce:016x}"),
        }
    }

    pub(crate) fn nth(&self, index: usize) -> String {
        format!("{}-{index}", self.prefix)
    }
}

/// `commands[i]` followed by `echo <marker i>`, joined with `;`.
pub(crate) fn script<'a>(
    commands: impl IntoIterator<Item = (usize, &'a str)>,
    marker: &Marker,
) -> String {
    commands
        .into_iter()
        .map(|(index, command)| format!("{command}; echo {}", marker.nth(index)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `dumpxml` for one domain. `--` ends the options, so that a domain named `--inactive` is a
/// name, not a flag.
pub(crate) fn dumpxml(name: &str) -> String {
    format!("dumpxml -- {}", quote(name))
}

/// The `dumpxml` script for `names[range]`. No markers between the dumps: each domain's XML is
/// one document starting at a `<domain` line (see [`Documents`]), and an `echo` per domain
/// would double the commands virsh has to parse. One `echo` ends it: virsh exits with the
/// status of its last command, so a last domain that vanished after the list would otherwise
/// fail the whole process rather than its own dump (its blank line joins the last document).
pub(crate) fn dump_script(names: &[String], range: Range<usize>) -> String {
    let mut script = names[range]
        .iter()
        .map(|n| dumpxml(n))
        .collect::<Vec<_>>()
        .join("; ");
    script.push_str(CLOSING);
    script
}

/// What ends every dump script (see [`dump_script`]).
const CLOSING: &str = "; echo";

/// Cuts `dumpxml` output into its documents as it arrives: each starts at a line that opens the
/// root element (`<domain ` or `<domain>` at the start of a line; libvirt indents everything
/// inside it), and is handed on once the next one starts, the last at [`Documents::finish`].
/// What comes before the first one is dropped.
#[derive(Debug, Default)]
pub(crate) struct Documents {
    /// The end of the input that is not a whole line yet.
    partial: Vec<u8>,
    current: Option<String>,
}

impl Documents {
    pub(crate) fn feed(&mut self, mut bytes: &[u8], mut on_document: impl FnMut(String)) {
        while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            let (line, rest) = bytes.split_at(end + 1);
            bytes = rest;
            if self.partial.is_empty() {
                self.line(&String::from_utf8_lossy(line), &mut on_document);
            } else {
                self.partial.extend_from_slice(line);
                let whole = std::mem::take(&mut self.partial);
                self.line(&String::from_utf8_lossy(&whole), &mut on_document);
            }
        }
        self.partial.extend_from_slice(bytes);
    }

    pub(crate) fn finish(mut self, mut on_document: impl FnMut(String)) {
        if !self.partial.is_empty() {
            let last = std::mem::take(&mut self.partial);
            self.line(&String::from_utf8_lossy(&last), &mut on_document);
        }
        if let Some(document) = self.current.take() {
            on_document(document);
        }
    }

    fn line(&mut self, line: &str, on_document: &mut impl FnMut(String)) {
        if line.starts_with("<domain ") || line.starts_with("<domain>") {
            if let Some(done) = self.current.replace(String::new()) {
                on_document(done);
            }
        }
        if let Some(document) = &mut self.current {
            document.push_str(line);
        }
    }
}

/// [`Documents`] of the whole output at once.
#[cfg(test)]
pub(crate) fn documents(output: &str) -> Vec<String> {
    let mut docs = Vec::new();
    let mut split = Documents::default();
    split.feed(output.as_bytes(), |d| docs.push(d));
    split.finish(|d| docs.push(d));
    docs
}

/// The bytes `name`'s `dumpxml` adds to a script, with the "; " that joins it to the next.
fn dump_cost(name: &str) -> usize {
    dumpxml(name).len() + 2
}

/// Groups `names` into at most `parts` index ranges of about equal script size, so that as
/// many virsh processes share the work evenly; more ranges only where one would pass `limit`.
pub(crate) fn balanced_chunks(names: &[String], limit: usize, parts: usize) -> Vec<Range<usize>> {
    let total: usize = names.iter().map(|n| dump_cost(n)).sum();
    cut(
        names,
        total.div_ceil(parts.max(1)).max(1),
        limit.saturating_sub(CLOSING.len()),
    )
}

/// Ranges of `names` that close once they hold `share` bytes, and before they would pass
/// `limit`.
fn cut(names: &[String], share: usize, limit: usize) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    let mut size = 0;
    for (index, name) in names.iter().enumerate() {
        let cost = dump_cost(name);
        if index > start && (size >= share || size + cost > limit) {
            ranges.push(start..index);
            start = index;
            size = 0;
        }
        size += cost;
    }
    if start < names.len() {
        ranges.push(start..names.len());
    }
    ranges
}

/// Cuts `output` into the sections that end at markers `indices` (in order): section `k` is
/// what was printed between marker `indices[k-1]` and marker `indices[k]`. `None` for the
/// sections whose end marker never came (virsh stopped early).
pub(crate) fn split(output: &str, marker: &Marker, indices: Range<usize>) -> Vec<Option<String>> {
    let mut sections = Vec::with_capacity(indices.len());
    let mut expected = indices.clone().map(|i| marker.nth(i));
    let mut want = expected.next();
    let mut current = String::new();
    for line in output.split_inclusive('\n') {
        let Some(end) = want.as_deref() else {
            break;
        };
        let text = line.strip_suffix('\n').unwrap_or(line);
        // Normally the marker is a line of its own; if a command's output lacked its final
        // newline, the marker ends that line instead.
        if let Some(before) = text.strip_suffix(end) {
            current.push_str(before);
            sections.push(Some(std::mem::take(&mut current)));
            want = expected.next();
        } else {
            current.push_str(line);
        }
    }
    sections.resize(indices.len(), None);
    sections
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_a_shell() {
        assert_eq!(quote("vm a"), "'vm a'");
        assert_eq!(quote("it's \"q\""), r#"'it'\''s "q"'"#);
        assert_eq!(quote(r"back\slash;#$"), r"'back\slash;#$'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn markers_differ_between_runs() {
        let (a, b) = (Marker::new(), Marker::new());
        assert_ne!(a.nth(0), b.nth(0));
        assert!(a.nth(3).ends_with("-3"));
        assert!(
            a.nth(0)
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-')
        );
        assert!(!a.nth(0).starts_with('-'));
    }

    #[test]
    fn builds_one_script_for_all_commands() {
        let m = Marker::new();
        let s = script([(0, "list --all --name"), (1, "dumpxml -- 'a'")], &m);
        assert_eq!(
            s,
            format!(
                "list --all --name; echo {}; dumpxml -- 'a'; echo {}",
                m.nth(0),
                m.nth(1)
            )
        );
    }

    #[test]
    fn splits_at_markers_and_reports_missing_ends() {
        let m = Marker::new();
        let out = format!("<domain/>\n\n{}\n{}\n<dom\n", m.nth(0), m.nth(1));
        assert_eq!(
            split(&out, &m, 0..3),
            vec![Some("<domain/>\n\n".to_owned()), Some(String::new()), None]
        );
    }

    #[test]
    fn a_marker_glued_to_unterminated_output_still_splits() {
        let m = Marker::new();
        let out = format!("<domain/>{}\nnext\n{}\n", m.nth(5), m.nth(6));
        assert_eq!(
            split(&out, &m, 5..7),
            vec![Some("<domain/>".to_owned()), Some("next\n".to_owned())]
        );
    }

    #[test]
    fn another_runs_marker_is_just_text() {
        let (m, other) = (Marker::new(), Marker::new());
        let out = format!("{}\nx\n{}\n", other.nth(0), m.nth(0));
        assert_eq!(
            split(&out, &m, 0..1),
            vec![Some(format!("{}\nx\n", other.nth(0)))]
        );
    }

    #[test]
    fn documents_start_at_each_root_element() {
        let out = "<domain type='kvm'>\n  <name>a</name>\n  <domain>not a root</domain>\n</domain>\n\
                   <domain>\n<name>b</name>\n</domain>\n";
        assert_eq!(
            documents(out),
            vec![
                "<domain type='kvm'>\n  <name>a</name>\n  <domain>not a root</domain>\n</domain>\n",
                "<domain>\n<name>b</name>\n</domain>\n"
            ]
        );
        assert!(documents("").is_empty());
        assert!(documents("error text\n").is_empty());
    }

    #[test]
    fn documents_come_out_the_same_whatever_the_pieces() {
        let out = "noise\n<domain type='kvm'>\n  <name>a\u{e9}</name>\n</domain>\n<domain>\n<name>b</name>\n</domain>";
        let whole = documents(out);
        assert_eq!(whole.len(), 2);
        assert!(
            whole[1].ends_with("</domain>"),
            "the unterminated last line counts"
        );
        for size in [1, 2, 3, 7, 64] {
            let mut docs = Vec::new();
            let mut split = Documents::default();
            for piece in out.as_bytes().chunks(size) {
                split.feed(piece, |d| docs.push(d));
            }
            split.finish(|d| docs.push(d));
            assert_eq!(docs, whole, "in pieces of {size} bytes");
        }
    }

    #[test]
    fn one_part_stays_under_the_limit() {
        let names: Vec<String> = (0..100).map(|i| format!("instance-{i:08x}")).collect();
        let ranges = balanced_chunks(&names, 1000, 1);
        assert!(ranges.len() > 1);
        assert_eq!(ranges.first().unwrap().start, 0);
        assert_eq!(ranges.last().unwrap().end, 100);
        for pair in ranges.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
        }
        for range in &ranges {
            let s = dump_script(&names, range.clone());
            assert!(s.len() <= 1000, "{}", s.len());
        }
        assert_eq!(balanced_chunks(&names, SCRIPT_LIMIT, 1), vec![0..100]);
        assert_eq!(balanced_chunks(&[], SCRIPT_LIMIT, 1), vec![]);
        let long = vec!["x".repeat(2000), "y".to_owned()];
        assert_eq!(balanced_chunks(&long, 1000, 1), vec![0..1, 1..2]);
    }

    #[test]
    fn balanced_chunks_share_the_names_evenly() {
        let names: Vec<String> = (0..1000).map(|i| format!("bench-{i}")).collect();
        let ranges = balanced_chunks(&names, SCRIPT_LIMIT, 2);
        assert_eq!(ranges.len(), 2);
        assert_eq!((ranges[0].start, ranges[1].end), (0, 1000));
        assert_eq!(ranges[0].end, ranges[1].start);
        let sizes: Vec<usize> = ranges
            .iter()
            .map(|r| dump_script(&names, r.clone()).len())
            .collect();
        assert!(sizes[0].abs_diff(sizes[1]) < 64, "{sizes:?}");
        // The limit still wins: 4 wanted, but each must stay within 4 KiB.
        let ranges = balanced_chunks(&names, 4096, 4);
        assert!(ranges.len() > 4);
        assert!(
            ranges
                .iter()
                .all(|r| dump_script(&names, r.clone()).len() <= 4096)
        );
        assert_eq!(balanced_chunks(&names[..3], SCRIPT_LIMIT, 4).len(), 3);
        assert_eq!(balanced_chunks(&names[..3], SCRIPT_LIMIT, 1), vec![0..3]);
        assert_eq!(balanced_chunks(&[], SCRIPT_LIMIT, 2), vec![]);
    }
}
