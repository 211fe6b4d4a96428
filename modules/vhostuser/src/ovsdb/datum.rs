//! OVSDB values and their JSON encodings (RFC 7047 §5.1).
//!
//! A column holds a set of atoms or a map of atom pairs. On the wire a set of exactly one atom
//! is usually sent as the bare atom, so [`Datum::Atom`] and a one-element [`Datum::Set`] mean the
//! same thing and every reader below accepts both.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Value, json};

use crate::text;

/// A row's UUID, as ovsdb-server prints it (`8-4-4-4-12` lowercase hex).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uuid(String);

impl Uuid {
    /// `None` unless `text` has the `8-4-4-4-12` hex shape.
    #[must_use]
    pub fn parse(text: &str) -> Option<Uuid> {
        let groups: Vec<&str> = text.split('-').collect();
        let shaped = groups.len() == 5
            && groups
                .iter()
                .zip([8, 4, 4, 4, 12])
                .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()));
        shaped.then(|| Uuid(text.to_ascii_lowercase()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One scalar value.
#[derive(Debug, Clone, PartialEq)]
pub enum Atom {
    Integer(i64),
    Real(f64),
    Boolean(bool),
    String(String),
    Uuid(Uuid),
    /// A row inserted earlier in the same transaction, by its `uuid-name`.
    NamedUuid(String),
}

impl Atom {
    #[must_use]
    pub fn to_json(&self) -> Value {
        match self {
            Atom::Integer(n) => json!(n),
            Atom::Real(x) => json!(x),
            Atom::Boolean(b) => json!(b),
            Atom::String(s) => json!(s),
            Atom::Uuid(u) => json!(["uuid", u.as_str()]),
            Atom::NamedUuid(name) => json!(["named-uuid", name]),
        }
    }

    /// An atom from its JSON encoding; the error says what was found instead.
    pub fn from_json(value: &Value) -> Result<Atom, String> {
        match value {
            Value::String(s) => Ok(Atom::String(s.clone())),
            Value::Bool(b) => Ok(Atom::Boolean(*b)),
            Value::Number(n) => n
                .as_i64()
                .map(Atom::Integer)
                .or_else(|| n.as_f64().map(Atom::Real))
                .ok_or_else(|| format!("the number {n} is out of range")),
            Value::Array(pair) => match pair.as_slice() {
                [Value::String(tag), Value::String(text)] if tag == "uuid" => Uuid::parse(text)
                    .map(Atom::Uuid)
                    .ok_or_else(|| format!("{} is not a UUID", text::quoted(text))),
                [Value::String(tag), Value::String(name)] if tag == "named-uuid" => {
                    Ok(Atom::NamedUuid(name.clone()))
                }
                _ => Err(format!("{value} is not an atom")),
            },
            Value::Null | Value::Object(_) => Err(format!("{value} is not an atom")),
        }
    }

    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Atom::String(s) => Some(s),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_uuid(&self) -> Option<&Uuid> {
        match self {
            Atom::Uuid(u) => Some(u),
            _ => None,
        }
    }
}

/// A column's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Datum {
    /// One atom: a scalar column, or a set of exactly one sent unwrapped.
    Atom(Atom),
    Set(Vec<Atom>),
    Map(Vec<(Atom, Atom)>),
}

impl Datum {
    /// The empty set: how OVSDB writes "no value" for an optional column.
    #[must_use]
    pub fn empty() -> Datum {
        Datum::Set(Vec::new())
    }

    #[must_use]
    pub fn named_uuid(name: &str) -> Datum {
        Datum::Atom(Atom::NamedUuid(name.to_owned()))
    }

    pub fn set<A: Into<Atom>>(atoms: impl IntoIterator<Item = A>) -> Datum {
        Datum::Set(atoms.into_iter().map(Into::into).collect())
    }

    /// A string-to-string map, the shape of `options`, `status`, `other_config`, `external_ids`.
    pub fn string_map<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Datum {
        Datum::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (Atom::String(k.into()), Atom::String(v.into())))
                .collect(),
        )
    }

    #[must_use]
    pub fn to_json(&self) -> Value {
        match self {
            Datum::Atom(atom) => atom.to_json(),
            Datum::Set(atoms) => {
                json!(["set", atoms.iter().map(Atom::to_json).collect::<Vec<_>>()])
            }
            Datum::Map(pairs) => json!([
                "map",
                pairs
                    .iter()
                    .map(|(k, v)| json!([k.to_json(), v.to_json()]))
                    .collect::<Vec<_>>()
            ]),
        }
    }

    /// A datum from its JSON encoding; the error says what was found instead.
    pub fn from_json(value: &Value) -> Result<Datum, String> {
        let tagged = value.as_array().and_then(|pair| match pair.as_slice() {
            [Value::String(tag), Value::Array(items)] => Some((tag.as_str(), items)),
            _ => None,
        });
        match tagged {
            Some(("set", items)) => items
                .iter()
                .map(Atom::from_json)
                .collect::<Result<_, _>>()
                .map(Datum::Set),
            Some(("map", pairs)) => pairs
                .iter()
                .map(|pair| match pair.as_array().map(Vec::as_slice) {
                    Some([k, v]) => Ok((Atom::from_json(k)?, Atom::from_json(v)?)),
                    _ => Err(format!("{pair} is not a [key, value] pair")),
                })
                .collect::<Result<_, _>>()
                .map(Datum::Map),
            _ => Atom::from_json(value).map(Datum::Atom),
        }
    }

    /// The atoms of a set, whether it came wrapped or as one bare atom; `None` for a map.
    #[must_use]
    pub fn atoms(&self) -> Option<&[Atom]> {
        match self {
            Datum::Atom(atom) => Some(std::slice::from_ref(atom)),
            Datum::Set(atoms) => Some(atoms),
            Datum::Map(_) => None,
        }
    }

    /// The single atom of a scalar column or a one-element set.
    #[must_use]
    pub fn single(&self) -> Option<&Atom> {
        match self.atoms()? {
            [atom] => Some(atom),
            _ => None,
        }
    }

    /// An optional column (min 0, max 1): `Some(None)` for the empty set, `Some(Some(_))` for
    /// one atom, `None` for anything else.
    #[must_use]
    pub fn optional(&self) -> Option<Option<&Atom>> {
        match self.atoms()? {
            [] => Some(None),
            [atom] => Some(Some(atom)),
            _ => None,
        }
    }

    /// A map of strings to strings; an empty set counts as an empty map.
    #[must_use]
    pub fn to_string_map(&self) -> Option<BTreeMap<String, String>> {
        match self {
            Datum::Map(pairs) => pairs
                .iter()
                .map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned())))
                .collect(),
            Datum::Set(atoms) if atoms.is_empty() => Some(BTreeMap::new()),
            _ => None,
        }
    }

    #[must_use]
    pub fn to_uuid_set(&self) -> Option<Vec<Uuid>> {
        self.atoms()?.iter().map(|a| a.as_uuid().cloned()).collect()
    }

    #[must_use]
    pub fn to_string_set(&self) -> Option<Vec<String>> {
        self.atoms()?
            .iter()
            .map(|a| a.as_str().map(str::to_owned))
            .collect()
    }
}

impl From<&str> for Atom {
    fn from(s: &str) -> Atom {
        Atom::String(s.to_owned())
    }
}

impl From<String> for Atom {
    fn from(s: String) -> Atom {
        Atom::String(s)
    }
}

impl From<i64> for Atom {
    fn from(n: i64) -> Atom {
        Atom::Integer(n)
    }
}

impl From<bool> for Atom {
    fn from(b: bool) -> Atom {
        Atom::Boolean(b)
    }
}

impl From<Uuid> for Atom {
    fn from(u: Uuid) -> Atom {
        Atom::Uuid(u)
    }
}

impl From<&Uuid> for Atom {
    fn from(u: &Uuid) -> Atom {
        Atom::Uuid(u.clone())
    }
}

impl<T: Into<Atom>> From<T> for Datum {
    fn from(atom: T) -> Datum {
        Datum::Atom(atom.into())
    }
}

impl From<&BTreeMap<String, String>> for Datum {
    fn from(map: &BTreeMap<String, String>) -> Datum {
        Datum::string_map(map.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const UUID: &str = "72aab3ba-78f9-4ec9-841c-344a0c6e1604";

    fn decode(text: &str) -> Datum {
        Datum::from_json(&serde_json::from_str(text).unwrap()).unwrap()
    }

    #[test]
    fn cells_as_ovsdb_server_sends_them_decode() {
        assert_eq!(decode(r#""vhu1""#).single().unwrap().as_str(), Some("vhu1"));
        assert_eq!(decode("-1"), Datum::Atom(Atom::Integer(-1)));
        assert_eq!(decode(r#"["set",[]]"#).optional(), Some(None));
        let uuid = decode(&format!(r#"["uuid","{UUID}"]"#));
        assert_eq!(uuid.to_uuid_set().unwrap()[0].as_str(), UUID);
        let options = decode(r#"["map",[["vhost-server-path","/run/vhu1"],["n_rxq","2"]]]"#);
        let options = options.to_string_map().unwrap();
        assert_eq!(options["vhost-server-path"], "/run/vhu1");
        assert_eq!(options["n_rxq"], "2");
    }

    #[test]
    fn a_one_element_set_reads_the_same_wrapped_or_bare() {
        let bare = decode(r#""could not open network device""#);
        let wrapped = decode(r#"["set",["could not open network device"]]"#);
        for datum in [bare, wrapped] {
            let error = datum.optional().unwrap().and_then(Atom::as_str);
            assert_eq!(error, Some("could not open network device"));
            assert_eq!(datum.to_string_set().unwrap().len(), 1);
        }
    }

    #[test]
    fn a_uuid_that_is_none_is_refused_quoted() {
        assert_eq!(
            Atom::from_json(&json!(["uuid", "x'1"])),
            Err(r"'x\'1' is not a UUID".to_owned())
        );
    }

    #[test]
    fn encodings_round_trip() {
        for datum in [
            Datum::from("x"),
            Datum::from(7),
            Datum::from(true),
            Datum::Atom(Atom::Real(0.5)),
            Datum::Atom(Atom::Uuid(Uuid::parse(UUID).unwrap())),
            Datum::named_uuid("iface"),
            Datum::empty(),
            Datum::set(["a", "b"]),
            Datum::string_map([("k", "v")]),
        ] {
            assert_eq!(Datum::from_json(&datum.to_json()).unwrap(), datum);
        }
        assert_eq!(Datum::named_uuid("p").to_json(), json!(["named-uuid", "p"]));
        assert_eq!(
            Datum::string_map([("k", "v")]).to_json(),
            json!(["map", [["k", "v"]]])
        );
    }

    #[test]
    fn malformed_cells_are_refused() {
        for text in [
            "null",
            "{}",
            r#"["uuid","nope"]"#,
            r#"["map",[["k"]]]"#,
            r#"["set",[null]]"#,
        ] {
            let value = serde_json::from_str(text).unwrap();
            assert!(Datum::from_json(&value).is_err(), "{text}");
        }
    }

    #[test]
    fn wrong_shapes_read_as_none() {
        assert_eq!(decode(r#"["set",["a","b"]]"#).optional(), None);
        assert_eq!(decode("1").to_string_map(), None);
        assert_eq!(decode(r#"["map",[["k",1]]]"#).to_string_map(), None);
        assert_eq!(decode(r#"["map",[]]"#).atoms(), None);
    }
}
