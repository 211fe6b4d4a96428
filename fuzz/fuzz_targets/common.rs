//! What the editor targets share: splitting the input, and checking that an edit left every
//! line it had no business with as it was.

/// Splits `data` at the first NUL into (file, rest); no NUL means an empty rest.
pub fn split(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[]),
    }
}

/// How a file format ends its lines: sysconfig files at LF (a CR before it belongs to the
/// ending), qemu.conf at LF or CR alike, as libvirt's parser does.
#[derive(Clone, Copy)]
#[allow(dead_code)]
pub enum Eol {
    Lf,
    LfOrCr,
}

/// The non-empty lines of `text`, each without its line ending: a last line gains one when an
/// edit adds a line after it.
fn lines(text: &[u8], eol: Eol) -> impl Iterator<Item = &[u8]> {
    text.split(move |&b| match eol {
        Eol::Lf => b == b'\n',
        Eol::LfOrCr => b == b'\n' || b == b'\r',
    })
    .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
    .filter(|l| !l.is_empty())
}

/// Panics unless every line of `before` that does not mention `key` is still in `after`, in
/// the same order: an edit of one key changes only that key's lines (and may add lines).
pub fn only_its_lines_changed(before: &[u8], after: &[u8], key: &str, eol: Eol) {
    let mentions = |line: &[u8]| line.windows(key.len()).any(|w| w == key.as_bytes());
    let mut rest = lines(after, eol);
    for line in lines(before, eol).filter(|l| !mentions(l)) {
        assert!(
            rest.any(|l| l == line),
            "line {:?} of the original is gone:\n{}\n---\n{}",
            String::from_utf8_lossy(line),
            String::from_utf8_lossy(before),
            String::from_utf8_lossy(after)
        );
    }
}
