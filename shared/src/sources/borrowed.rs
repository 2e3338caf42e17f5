//! Members of a JSON body as the source adapters keep them: borrowed from the body unless the
//! JSON escaped something, so that reading a webhook allocates for what it builds, not for what
//! it reads.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Number, Value};
use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

/// A string member. Anything else is refused with the error a `String` would give ("invalid
/// type: ..., expected a string"), so a field that was a `String` keeps its 400 word for word.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Text<'a>(pub Cow<'a, str>);

impl Text<'_> {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_owned(self) -> String {
        self.0.into_owned()
    }
}

impl Deref for Text<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for Text<'_> {
    fn from(s: String) -> Self {
        Text(Cow::Owned(s))
    }
}

impl PartialEq<&str> for Text<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v)))
    }
}

/// A member read for an id or a text, whatever its type: what `Option<&Value>` tells, without
/// the tree.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Scalar<'a> {
    /// Not in the object.
    #[default]
    Absent,
    Str(Cow<'a, str>),
    Number(Number),
    /// `null`, a boolean, an object or an array.
    Other,
}

impl Scalar<'_> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Scalar::Absent)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }

    /// An id that a sender may send as a string or a number: trimmed, and an empty string
    /// (an unset placeholder) is none. A number is written as serde_json writes it.
    pub fn id(&self) -> Option<String> {
        match self {
            Scalar::Str(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Scalar::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// The member `key` of a parsed tree, as read from the bytes.
    pub fn of(value: Option<&Value>) -> Scalar<'_> {
        match value {
            None => Scalar::Absent,
            Some(Value::String(s)) => Scalar::Str(Cow::Borrowed(s)),
            Some(Value::Number(n)) => Scalar::Number(n.clone()),
            Some(_) => Scalar::Other,
        }
    }

    fn owned(value: Value) -> Scalar<'static> {
        match value {
            Value::String(s) => Scalar::Str(Cow::Owned(s)),
            Value::Number(n) => Scalar::Number(n),
            _ => Scalar::Other,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::Number(v.into()))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Number(v.into()))
    }

    // As the tree: serde_json never reads a non-finite number, and the tree keeps one as null.
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Number::from_f64(v).map_or(Scalar::Other, Scalar::Number))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Other)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Ok(drain_object(map)?.map_or(Scalar::Other, Scalar::owned))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Checked::drain_seq(seq).map(|_| Scalar::Other)
    }
}

/// A value read and dropped, read as fully as a `Value` tree reads it (unlike `IgnoredAny`,
/// which lets a lone surrogate escape or an out-of-range number through): every string and
/// number is decoded, nothing is kept. A reader that drops members with it accepts exactly the
/// bodies the tree accepts.
pub struct Checked;

impl Checked {
    fn drain_map<'de, A: MapAccess<'de>>(map: A) -> Result<Checked, A::Error> {
        drain_object(map).map(|_| Checked)
    }

    pub fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
}

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Checked, A::Error> {
        Checked::drain_map(map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Checked, A::Error> {
        Checked::drain_seq(seq)
    }
}

/// serde_json's private key of a raw value (its `raw_value` feature is on in this workspace): a
/// `Value` reads an object whose first key is this as the JSON text its string value holds, and
/// refuses a member after it (serde_json's "trailing comma"). The readers here do the same, so
/// that they accept what the tree accepts and read what it reads.
pub const RAW_VALUE_KEY: &str = "$serde_json::private::RawValue";

/// Reads an object's members and drops them, as the tree would read them; an object that holds
/// a raw value gives that value, parsed.
fn drain_object<'de, A: MapAccess<'de>>(mut map: A) -> Result<Option<Value>, A::Error> {
    match map.next_key::<FirstKey>()? {
        None => return Ok(None),
        Some(FirstKey::RawValue) => return raw_value(&mut map).map(Some),
        Some(FirstKey::Other) => map.next_value::<Checked>()?,
    };
    while map.next_key::<Checked>()?.is_some() {
        map.next_value::<Checked>()?;
    }
    Ok(None)
}

/// The value of a raw value's member: a string, parsed as JSON as serde_json parses it there
/// (its error is serde_json's, with the same wording).
fn raw_value<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Value, A::Error> {
    let text = map.next_value::<RawText>()?;
    serde_json::from_str(&text.0).map_err(de::Error::custom)
}

/// An object's first key: serde_json's raw value key or any other, decoded as the tree decodes
/// it.
enum FirstKey {
    RawValue,
    Other,
}

impl<'de> Deserialize<'de> for FirstKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(FirstKeyVisitor)
    }
}

struct FirstKeyVisitor;

impl<'de> Visitor<'de> for FirstKeyVisitor {
    type Value = FirstKey;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, key: &str) -> Result<FirstKey, E> {
        Ok(if key == RAW_VALUE_KEY { FirstKey::RawValue } else { FirstKey::Other })
    }
}

/// The string a raw value holds; anything else is refused as serde_json refuses it ("expected
/// raw value").
struct RawText(String);

impl<'de> Deserialize<'de> for RawText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(RawTextVisitor)
    }
}

struct RawTextVisitor;

impl<'de> Visitor<'de> for RawTextVisitor {
    type Value = RawText;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("raw value")
    }

    fn visit_str<E>(self, v: &str) -> Result<RawText, E> {
        Ok(RawText(v.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_borrows_unless_escaped_and_refuses_as_a_string_does() {
        let t: Text = serde_json::from_str(r#""plain""#).unwrap();
        assert!(matches!(t.0, Cow::Borrowed("plain")));
        let t: Text = serde_json::from_str(r#""a\"b""#).unwrap();
        assert_eq!((t.as_str(), matches!(t.0, Cow::Owned(_))), ("a\"b", true));
        for body in ["5", "null", "[]", "{}", "true"] {
            let text = serde_json::from_str::<Text>(body).unwrap_err().to_string();
            assert_eq!(text, serde_json::from_str::<String>(body).unwrap_err().to_string(), "{body}");
        }
    }

    /// serde_json's raw value key, read as the tree reads it: in an id, in a dropped member.
    #[test]
    fn a_raw_value_object_reads_as_the_tree_reads_it() {
        let key = RAW_VALUE_KEY;
        for body in [
            format!(r#"{{"{key}": "\"u1\""}}"#),
            format!(r#"{{"{key}": " 42 "}}"#),
            format!(r#"{{"{key}": "[1, {{\"a\": 2}}]"}}"#),
            format!(r#"{{"{key}": 5}}"#),
            format!(r#"{{"{key}": "not json"}}"#),
            format!(r#"{{"{key}": "1", "y": 2}}"#),
            format!(r#"{{"{key}": "\"\\ud800\""}}"#),
            format!(r#"{{"x": 1, "{key}": "1"}}"#),
            r#"{"$serde_json::private::RawValu\u0065": "\"e\""}"#.to_owned(),
        ] {
            let tree = serde_json::from_str::<Value>(&body).map_err(|e| e.to_string());
            let scalar = serde_json::from_str::<Scalar>(&body).map_err(|e| e.to_string());
            assert_eq!(scalar, tree.as_ref().map(|v| Scalar::owned(v.clone())).map_err(Clone::clone), "{body}");
            let checked = serde_json::from_str::<Checked>(&body).map(|_| ()).map_err(|e| e.to_string());
            assert_eq!(checked, tree.map(|_| ()), "{body}");
        }
    }

    #[test]
    fn a_scalar_id_is_a_trimmed_string_or_a_number_as_serde_json_writes_it() {
        let id = |body: &str| serde_json::from_str::<Scalar>(body).unwrap().id();
        assert_eq!(id(r#"" 35 ""#).as_deref(), Some("35"));
        assert_eq!(id(r#""  ""#), None);
        assert_eq!(id("1.5e3").as_deref(), Some("1500.0"));
        assert_eq!(id("-12").as_deref(), Some("-12"));
        assert_eq!(id("18446744073709551615").as_deref(), Some("18446744073709551615"));
        assert_eq!(id("null"), None);
        assert_eq!(id(r#"{"a": [1]}"#), None);
        for body in [r#"" 35 ""#, "1.5e3", "-12", "null", "{\"a\": 1}", "true", "0.1"] {
            let tree: Value = serde_json::from_str(body).unwrap();
            assert_eq!(serde_json::from_str::<Scalar>(body).unwrap(), Scalar::of(Some(&tree)), "{body}");
        }
    }
}
