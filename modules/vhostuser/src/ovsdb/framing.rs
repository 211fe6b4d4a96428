//! Splits OVSDB's byte stream into messages.
//!
//! ovsdb-server writes JSON objects back to back with no delimiter, so a message ends where its
//! outermost brace closes. Counting braces outside strings finds that point without parsing,
//! and lets the caller read with its own deadline (a reader inside `serde_json` would hide it).
//!
//! One message is bounded by [`MAX_MESSAGE`]: a peer streaming one endless string would
//! otherwise grow the buffer until the deadline, gigabytes at socket speed.

/// The largest message accepted: 64 MiB. The biggest real replies, every column of every
/// Interface of a node with thousands of ports, are a few megabytes.
pub(crate) const MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// Bytes received so far, and how far they have been scanned for the end of a message.
#[derive(Debug, Default)]
pub(crate) struct Framer {
    buffer: Vec<u8>,
    scanned: usize,
    depth: usize,
    in_string: bool,
    escaped: bool,
}

impl Framer {
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete message, if the bytes pushed so far hold one. An error means the
    /// stream is not a sequence of JSON objects or arrays.
    pub(crate) fn next_message(&mut self) -> Result<Option<Vec<u8>>, String> {
        while let Some(&byte) = self.buffer.get(self.scanned) {
            self.scanned += 1;
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if byte == b'\\' {
                    self.escaped = true;
                } else if byte == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match byte {
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' if self.depth > 0 => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        let message = self.buffer.drain(..self.scanned).collect();
                        self.scanned = 0;
                        return Ok(Some(message));
                    }
                }
                b'"' if self.depth > 0 => self.in_string = true,
                b' ' | b'\t' | b'\r' | b'\n' => {}
                _ if self.depth > 0 => {}
                _ => return Err(format!("unexpected byte {byte:#04x} between messages")),
            }
        }
        // Every complete message has been drained: what is left is one unfinished message.
        if self.buffer.len() > MAX_MESSAGE {
            return Err(format!(
                "a message is still unfinished after {} bytes, beyond the limit of {} MiB for \
                 one OVSDB message; this is not ovsdb-server, or it is broken",
                self.buffer.len(),
                MAX_MESSAGE / (1024 * 1024)
            ));
        }
        Ok(None)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn messages(chunks: &[&str]) -> Vec<String> {
        let mut framer = Framer::default();
        let mut out = Vec::new();
        for chunk in chunks {
            framer.push(chunk.as_bytes());
            while let Some(message) = framer.next_message().unwrap() {
                out.push(String::from_utf8(message).unwrap().trim().to_owned());
            }
        }
        out
    }

    #[test]
    fn back_to_back_objects_are_split() {
        assert_eq!(
            messages(&[r#"{"id":1,"result":[]}{"id":2,"result":{}}"#]),
            [r#"{"id":1,"result":[]}"#, r#"{"id":2,"result":{}}"#]
        );
    }

    #[test]
    fn a_message_split_across_reads_is_joined() {
        assert_eq!(
            messages(&["{\"a\":", "[1,2", "]}", "\n{}"]),
            [r#"{"a":[1,2]}"#, "{}"]
        );
    }

    #[test]
    fn braces_and_escaped_quotes_inside_strings_do_not_count() {
        let text = r#"{"details":"a } \" { ] \\","x":"[{"}"#;
        assert_eq!(messages(&[text, "{}"]), [text, "{}"]);
    }

    #[test]
    fn one_endless_message_is_refused_at_the_limit() {
        let mut framer = Framer::default();
        framer.push(br#"{"id":1,"result":""#);
        let chunk = vec![b'a'; 1024 * 1024];
        let mut pushed = 0;
        let error = loop {
            match framer.next_message() {
                Ok(None) => {}
                Ok(Some(_)) => panic!("an unfinished string made a message"),
                Err(error) => break error,
            }
            assert!(pushed <= MAX_MESSAGE + chunk.len(), "no limit");
            framer.push(&chunk);
            pushed += chunk.len();
        };
        assert!(error.contains("beyond the limit of 64 MiB"), "{error}");
        assert!(pushed > MAX_MESSAGE - chunk.len());
    }

    #[test]
    fn a_message_just_under_the_limit_is_kept() {
        let mut framer = Framer::default();
        let body = "a".repeat(MAX_MESSAGE - 16);
        framer.push(format!("{{\"s\":\"{body}\"}}").as_bytes());
        let message = framer.next_message().unwrap().unwrap();
        assert_eq!(message.len(), MAX_MESSAGE - 16 + 8);
    }

    #[test]
    fn garbage_between_messages_is_an_error() {
        let mut framer = Framer::default();
        framer.push(b"{} x");
        assert!(framer.next_message().unwrap().is_some());
        assert!(framer.next_message().is_err());
    }
}
