//! What the editor targets share: how one input holds a file and the edit to make.

/// Splits `data` at the first NUL into (file, rest); no NUL means an empty rest.
pub fn split(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[]),
    }
}
