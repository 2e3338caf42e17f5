//! Bad input for fuzzing the sources and the webhooks: real-shaped events with one mutation each
//! (types swapped, fields removed, huge numbers, long ids, deep nesting, duplicate keys, invalid
//! UTF-8, a cut body), and arbitrary JSON. Strategies for `proptest`; used by the property tests
//! of `shared/tests/source_properties.rs` and the HTTP-level run of `infra/foresight/tests/fuzz_http.rs`.

use proptest::prelude::*;
use serde_json::{Map, Value};

/// What one mutation does to a JSON body. `at` picks a value (or object, or string) by its
/// position in a walk of the document, modulo how many there are.
#[derive(Clone, Debug)]
pub enum Mutation {
    /// Removes a key of an object.
    Remove { at: usize },
    /// Replaces a value by one of another type.
    SwapType { at: usize, to: u8 },
    /// Replaces a value by a number no field holds: beyond `i64`/`u64`, beyond `f64`, negative.
    HugeNumber { at: usize, which: u8 },
    /// Replaces a value by a string of `len` characters (ids over any storage key limit).
    LongString { at: usize, len: usize },
    /// Wraps a value in `depth` arrays or objects.
    DeepNesting { at: usize, depth: usize, objects: bool },
    /// Repeats an object's first key with another value (JSON allows it; parsers differ).
    DuplicateKey { at: usize },
    /// Puts a byte that is never UTF-8 inside a string.
    InvalidUtf8 { at: usize },
    /// Cuts the body at a fraction (per mille) of its length.
    Truncate { per_mille: u16 },
    /// Replaces the whole body by arbitrary JSON.
    Replace(Value),
}

/// Raw number texts that a `Value` cannot hold, written into the body as they are.
const HUGE: [&str; 6] = [
    "18446744073709551616",
    "-9223372036854775809",
    "1e400",
    "-1e400",
    "123456789012345678901234567890123456789012",
    "9223372036854775807",
];
/// Stands in for a huge number until the body is written out.
const HUGE_MARK: &str = "__foresight_fuzz_huge_number__";

/// Any JSON value, nested a few levels.
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        prop_oneof![Just("cus_1"), Just("acct_1"), Just(""), Just("open"), Just("track"), Just("2013-12-12T05:35Z")]
            .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    "[a-z_]{1,12}".boxed(),
                    prop_oneof![Just("id"), Just("type"), Just("customer"), Just("data"), Just("object")]
                        .prop_map(str::to_owned)
                        .boxed(),
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// One mutation of any kind.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<usize>();
    prop_oneof![
        3 => at.prop_map(|at| Mutation::Remove { at }),
        3 => (at, any::<u8>()).prop_map(|(at, to)| Mutation::SwapType { at, to }),
        2 => (at, any::<u8>()).prop_map(|(at, which)| Mutation::HugeNumber { at, which }),
        2 => (at, prop_oneof![Just(2_049usize), Just(600), 1usize..5_000]).prop_map(|(at, len)| Mutation::LongString { at, len }),
        1 => (at, prop_oneof![Just(40usize), Just(200), 2usize..300], any::<bool>())
            .prop_map(|(at, depth, objects)| Mutation::DeepNesting { at, depth, objects }),
        2 => at.prop_map(|at| Mutation::DuplicateKey { at }),
        1 => at.prop_map(|at| Mutation::InvalidUtf8 { at }),
        1 => (0u16..1000).prop_map(|per_mille| Mutation::Truncate { per_mille }),
        1 => json_value().prop_map(Mutation::Replace),
    ]
}

/// One to three mutations.
pub fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    prop::collection::vec(mutation(), 1..=3)
}

/// `body` with `mutations` applied in order (a body that is not JSON is only cut or corrupted).
pub fn apply_all(body: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    mutations.iter().fold(body.to_vec(), |body, m| apply(&body, m))
}

/// `body` with one mutation applied.
pub fn apply(body: &[u8], mutation: &Mutation) -> Vec<u8> {
    match mutation {
        Mutation::Truncate { per_mille } => body[..body.len() * usize::from(*per_mille) / 1000].to_vec(),
        Mutation::InvalidUtf8 { at } => {
            let quotes: Vec<usize> = body.iter().enumerate().filter(|(_, b)| **b == b'"').map(|(i, _)| i).collect();
            let mut out = body.to_vec();
            let position = if quotes.is_empty() { at % (body.len() + 1) } else { quotes[at % quotes.len()] + 1 };
            out.insert(position, 0xFF);
            out
        }
        Mutation::DuplicateKey { at } => duplicate_key(body, *at),
        Mutation::Replace(value) => serde_json::to_vec(value).unwrap_or_default(),
        value_level => match serde_json::from_slice::<Value>(body) {
            Ok(mut document) => {
                let huge = mutate_value(&mut document, value_level);
                let text = serde_json::to_string(&document).unwrap_or_default();
                text.replace(&format!("\"{HUGE_MARK}\""), huge.unwrap_or("0")).into_bytes()
            }
            Err(_) => body.to_vec(),
        },
    }
}

/// The paths of every value in `v`, in pre-order (the root is `[]`).
fn paths(v: &Value, prefix: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                prefix.push(PathStep::Key(k.clone()));
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                prefix.push(PathStep::Index(i));
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn at_path<'a>(v: &'a mut Value, path: &[PathStep]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, step| match step {
        PathStep::Key(k) => v.get_mut(k),
        PathStep::Index(i) => v.get_mut(*i),
    })
}

/// Applies a value-level mutation; returns the raw text of a huge number to write in place of
/// [`HUGE_MARK`].
fn mutate_value(document: &mut Value, mutation: &Mutation) -> Option<&'static str> {
    let mut all = Vec::new();
    paths(document, &mut Vec::new(), &mut all);
    let pick = |at: usize| all[at % all.len()].clone();
    match mutation {
        Mutation::Remove { at } => {
            let path = pick(*at);
            let (Some(PathStep::Key(key)), parent) = (path.last(), &path[..path.len().saturating_sub(1)]) else {
                return None;
            };
            if let Some(Value::Object(map)) = at_path(document, parent) {
                map.remove(key);
            }
            None
        }
        Mutation::SwapType { at, to } => {
            let target = at_path(document, &pick(*at))?;
            *target = match (to % 6, &*target) {
                (0, _) => Value::Null,
                (1, Value::Bool(b)) => Value::Bool(!b),
                (1, _) => Value::Bool(true),
                (2, Value::String(s)) => Value::from(s.len() as i64 - 1),
                (2, _) => Value::from(-1),
                (3, Value::Number(n)) => Value::String(n.to_string()),
                (3, other) => Value::String(other.to_string()),
                (4, other) => Value::Array(vec![other.clone()]),
                (_, other) => serde_json::json!({ "id": other.clone() }),
            };
            None
        }
        Mutation::HugeNumber { at, which } => {
            *at_path(document, &pick(*at))? = Value::String(HUGE_MARK.into());
            Some(HUGE[usize::from(*which) % HUGE.len()])
        }
        Mutation::LongString { at, len } => {
            *at_path(document, &pick(*at))? = Value::String("x".repeat(*len));
            None
        }
        Mutation::DeepNesting { at, depth, objects } => {
            let target = at_path(document, &pick(*at))?;
            let mut nested = target.take();
            for _ in 0..*depth {
                nested = if *objects { serde_json::json!({ "id": nested }) } else { Value::Array(vec![nested]) };
            }
            *target = nested;
            None
        }
        _ => None,
    }
}

/// Repeats the first key of the `at`-th object with the value `null` in front of it:
/// `{"id":"x",...}` → `{"id":null,"id":"x",...}`.
fn duplicate_key(body: &[u8], at: usize) -> Vec<u8> {
    let starts: Vec<usize> = body.windows(2).enumerate().filter(|(_, w)| w == b"{\"").map(|(i, _)| i).collect();
    if starts.is_empty() {
        return body.to_vec();
    }
    let open = starts[at % starts.len()];
    let key_start = open + 1;
    let Some(key_len) = body[key_start + 1..].iter().position(|b| *b == b'"') else { return body.to_vec() };
    let key = &body[key_start..key_start + key_len + 2];
    let mut out = body[..=open].to_vec();
    out.extend_from_slice(key);
    out.extend_from_slice(b":null,");
    out.extend_from_slice(&body[open + 1..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"id":"evt_1","data":{"object":{"customer":"cus_1","n":[1,2]}}}"#;

    #[test]
    fn each_mutation_changes_what_it_says() {
        let removed = apply(BODY, &Mutation::Remove { at: 1 });
        assert_eq!(removed, br#"{"id":"evt_1"}"#, "the value at 1 is `data`");
        let huge = String::from_utf8(apply(BODY, &Mutation::HugeNumber { at: 2, which: 2 })).unwrap();
        assert_eq!(huge, r#"{"data":{"object":1e400},"id":"evt_1"}"#);
        let duplicate = String::from_utf8(duplicate_key(BODY, 2)).unwrap();
        assert!(duplicate.contains(r#"{"customer":null,"customer":"cus_1""#), "{duplicate}");
        let invalid = apply(BODY, &Mutation::InvalidUtf8 { at: 0 });
        assert!(std::str::from_utf8(&invalid).is_err());
        let deep = apply(BODY, &Mutation::DeepNesting { at: 0, depth: 200, objects: false });
        assert!(deep.starts_with(&[b'['; 200]));
        assert_eq!(apply(BODY, &Mutation::Truncate { per_mille: 500 }).len(), BODY.len() / 2);
        let long = apply(BODY, &Mutation::LongString { at: 4, len: 2_049 });
        assert!(String::from_utf8(long).unwrap().contains(&"x".repeat(2_049)));
    }
}
