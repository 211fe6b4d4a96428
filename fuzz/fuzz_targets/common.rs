//! What the editor targets share: splitting the input, and checking that an edit left every
//! line it had no business with as it was.

/// Splits `data` at the first NUL into (file, rest); no NUL means an empty rest.
pub fn split(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[]),
    }
}

/// The lines of `text`, each without its line ending (LF, or CRLF): a last line gains one when
/// an edit adds a line after it.
fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

/// Panics unless every line of `before` that does not mention `key` is still in `after`, in
/// the same order: an edit of one key changes only that key's lines (and may add lines).
pub fn only_its_lines_changed(before: &[u8], after: &[u8], key: &str) {
    let mentions = |line: &[u8]| line.windows(key.len()).any(|w| w == key.as_bytes());
    let mut rest = lines(after);
    for line in lines(before).filter(|l| !mentions(l)) {
        assert!(
            rest.any(|l| l == line),
            "line {:?} of the original is gone:\n{}\n---\n{}",
            String::from_utf8_lossy(line),
            String::from_utf8_lossy(before),
            String::from_utf8_lossy(after)
        );
    }
}
