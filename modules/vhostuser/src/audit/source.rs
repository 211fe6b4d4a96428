//! A source the audit reads (Open vSwitch's database, libvirt's domains): its facts, or why it
//! could not be read. Keeping the reason with the absence means no check has to look for it
//! elsewhere, and no source can be missing without one.

use serde::{Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source<T> {
    Read(T),
    Unavailable(String),
}

impl<T> Default for Source<T> {
    fn default() -> Self {
        Source::Unavailable("it was not read".into())
    }
}

impl<T> Source<T> {
    /// The facts, when the source was read.
    #[must_use]
    pub fn as_ref(&self) -> Option<&T> {
        match self {
            Source::Read(facts) => Some(facts),
            Source::Unavailable(_) => None,
        }
    }

    /// The facts, mutably, when the source was read.
    pub fn as_mut(&mut self) -> Option<&mut T> {
        match self {
            Source::Read(facts) => Some(facts),
            Source::Unavailable(_) => None,
        }
    }

    /// Why the source could not be read.
    #[must_use]
    pub fn unavailable(&self) -> Option<&str> {
        match self {
            Source::Read(_) => None,
            Source::Unavailable(why) => Some(why),
        }
    }

    #[must_use]
    pub fn is_none(&self) -> bool {
        matches!(self, Source::Unavailable(_))
    }

    /// The facts as a zero- or one-item iterator, like `Option::iter`.
    pub fn iter(&self) -> std::option::IntoIter<&T> {
        self.as_ref().into_iter()
    }

    /// The facts, mutably, as a zero- or one-item iterator, like `Option::iter_mut`.
    pub fn iter_mut(&mut self) -> std::option::IntoIter<&mut T> {
        self.as_mut().into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Source<T> {
    type Item = &'a T;
    type IntoIter = std::option::IntoIter<&'a T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, T> IntoIterator for &'a mut Source<T> {
    type Item = &'a mut T;
    type IntoIter = std::option::IntoIter<&'a mut T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

impl<T> From<Result<T, String>> for Source<T> {
    fn from(read: Result<T, String>) -> Self {
        read.map_or_else(Source::Unavailable, Source::Read)
    }
}

/// The facts as they are, or null: the reason is reported under `unavailable`.
impl<T: Serialize> Serialize for Source<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.as_ref().serialize(serializer)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::Source;

    #[test]
    fn read_facts_serialize_as_themselves_and_an_unavailable_source_as_null() {
        let read: Source<Vec<u8>> = Ok(vec![1, 2]).into();
        let gone: Source<Vec<u8>> = Err("refused".to_string()).into();
        assert_eq!(serde_json::to_string(&read).unwrap(), "[1,2]");
        assert_eq!(serde_json::to_string(&gone).unwrap(), "null");
        assert_eq!(gone.unavailable(), Some("refused"));
        assert_eq!(read.unavailable(), None);
        assert_eq!(read.iter().count(), 1);
        assert_eq!(gone.iter().count(), 0);
    }
}
