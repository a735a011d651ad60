//! Typed, forgiving reads of single attributes from an item, with `Malformed` errors that name the
//! item and the attribute. Used by `codec` to decode records other tools may have written.

use crate::duration::GoDuration;
use crate::store::StoreError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

use super::schema;

/// An item as the SDK returns it.
pub type Item = HashMap<String, AttributeValue>;

/// `PK / SK` of an item, as error messages name it.
pub fn item_id(item: &Item) -> String {
    let key = |name: &str| match item.get(name) {
        Some(AttributeValue::S(s)) => s.clone(),
        _ => "?".to_string(),
    };
    format!("{} / {}", key(schema::PK), key(schema::SK))
}

/// Reads attributes of one item (or of a map nested in it, whose attribute names are then given
/// as `outer.inner`).
pub struct Reader<'a> {
    table: &'a str,
    id: String,
    prefix: String,
    map: &'a Item,
}

fn type_name(v: &AttributeValue) -> &'static str {
    match v {
        AttributeValue::S(_) => "a string (S)",
        AttributeValue::N(_) => "a number (N)",
        AttributeValue::Bool(_) => "a boolean (BOOL)",
        AttributeValue::M(_) => "a map (M)",
        AttributeValue::L(_) => "a list (L)",
        AttributeValue::B(_) => "binary (B)",
        AttributeValue::Ss(_) | AttributeValue::Ns(_) | AttributeValue::Bs(_) => "a set",
        AttributeValue::Null(_) => "NULL",
        _ => "an unknown type",
    }
}

impl<'a> Reader<'a> {
    /// A reader of a whole item of `table`.
    pub fn new(table: &'a str, item: &'a Item) -> Self {
        Reader {
            table,
            id: item_id(item),
            prefix: String::new(),
            map: item,
        }
    }

    /// The error for attribute `name` of this item.
    pub fn malformed(&self, name: &str, problem: impl Into<String>) -> StoreError {
        StoreError::Malformed {
            table: self.table.to_string(),
            item: self.id.clone(),
            attribute: format!("{}{name}", self.prefix),
            problem: problem.into(),
        }
    }

    /// The attribute, treating NULL as absent: the Go SDK writes nil pointers as NULL.
    fn get(&self, name: &str) -> Option<&'a AttributeValue> {
        self.map
            .get(name)
            .filter(|v| !matches!(v, AttributeValue::Null(_)))
    }

    fn wrong_type(&self, name: &str, want: &str, got: &AttributeValue) -> StoreError {
        self.malformed(name, format!("expected {want}, found {}", type_name(got)))
    }

    /// An optional string.
    pub fn opt_str(&self, name: &str) -> Result<Option<&'a str>, StoreError> {
        match self.get(name) {
            None => Ok(None),
            Some(AttributeValue::S(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(self.wrong_type(name, "a string (S)", other)),
        }
    }

    /// An optional string where the empty string also means "not set" (Go writes unset string
    /// fields as "").
    pub fn opt_text(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .opt_str(name)?
            .filter(|s| !s.is_empty())
            .map(str::to_string))
    }

    /// A required, non-empty string.
    pub fn req_str(&self, name: &str) -> Result<&'a str, StoreError> {
        match self.opt_str(name)? {
            Some(s) if !s.is_empty() => Ok(s),
            Some(_) => Err(self.malformed(name, "it is empty")),
            None => Err(self.malformed(name, "it is missing")),
        }
    }

    /// An optional non-negative whole number; "3" and "3.0" are both 3.
    pub fn opt_u64(&self, name: &str) -> Result<Option<u64>, StoreError> {
        match self.get(name) {
            None => Ok(None),
            Some(AttributeValue::N(n)) => parse_whole_number(n)
                .map(Some)
                .ok_or_else(|| self.malformed(name, format!("{n:?} is not a whole number >= 0"))),
            Some(other) => Err(self.wrong_type(name, "a number (N)", other)),
        }
    }

    /// An optional boolean.
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, StoreError> {
        match self.get(name) {
            None => Ok(None),
            Some(AttributeValue::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong_type(name, "a boolean (BOOL)", other)),
        }
    }

    /// An optional RFC 3339 timestamp, in any offset and precision. Go's zero time
    /// (`0001-01-01T00:00:00Z`, what it writes for an unset `time.Time`) and "" read as absent.
    pub fn opt_time(&self, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let Some(s) = self.opt_str(name)?.filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let t = parse_time(s).ok_or_else(|| {
            self.malformed(
                name,
                format!("{s:?} is not an RFC 3339 timestamp (e.g. 2026-11-25T03:27:34.123Z)"),
            )
        })?;
        Ok((t.timestamp() != GO_ZERO_TIME).then_some(t))
    }

    /// A required RFC 3339 timestamp.
    pub fn req_time(&self, name: &str) -> Result<DateTime<Utc>, StoreError> {
        self.opt_time(name)?
            .ok_or_else(|| self.malformed(name, "it is missing"))
    }

    /// An optional Go duration string ("30s", "5m").
    pub fn opt_duration(&self, name: &str) -> Result<Option<GoDuration>, StoreError> {
        match self.opt_str(name)? {
            None => Ok(None),
            Some(s) => s
                .parse()
                .map(Some)
                .map_err(|e| self.malformed(name, format!("{e}"))),
        }
    }

    /// An optional map whose values are all strings, by key.
    pub fn opt_string_map(
        &self,
        name: &str,
    ) -> Result<Option<std::collections::BTreeMap<String, String>>, StoreError> {
        let Some(m) = self.opt_map(name)? else {
            return Ok(None);
        };
        let mut out = std::collections::BTreeMap::new();
        for key in m.map.keys() {
            if let Some(text) = m.opt_str(key)? {
                out.insert(key.clone(), text.to_string());
            }
        }
        Ok(Some(out))
    }

    /// A reader of an optional nested map.
    pub fn opt_map(&self, name: &str) -> Result<Option<Reader<'a>>, StoreError> {
        match self.get(name) {
            None => Ok(None),
            Some(AttributeValue::M(m)) => Ok(Some(Reader {
                table: self.table,
                id: self.id.clone(),
                prefix: format!("{}{name}.", self.prefix),
                map: m,
            })),
            Some(other) => Err(self.wrong_type(name, "a map (M)", other)),
        }
    }
}

/// `0001-01-01T00:00:00Z` in Unix seconds.
const GO_ZERO_TIME: i64 = -62_135_596_800;

/// Parses any RFC 3339 timestamp into UTC.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Parses a DynamoDB number that must be a whole number >= 0: "3", "3.0", "3e0", "30E-1".
fn parse_whole_number(n: &str) -> Option<u64> {
    let n = n.trim();
    if let Ok(v) = n.parse::<u64>() {
        return Some(v);
    }
    // "3.000": exact, without a float round trip.
    if let Some((int, frac)) = n.split_once('.')
        && !int.is_empty()
        && frac.bytes().all(|b| b == b'0')
        && !frac.contains(['e', 'E'])
    {
        return int.parse().ok();
    }
    let f: f64 = n.parse().ok()?;
    // Above 2^53 an f64 no longer holds every integer: refuse rather than round.
    (f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f <= 9_007_199_254_740_992.0)
        .then_some(f as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_are_read_in_the_forms_other_tools_write() {
        assert_eq!(parse_whole_number("3"), Some(3));
        assert_eq!(parse_whole_number("3.0"), Some(3));
        assert_eq!(parse_whole_number("3.000"), Some(3));
        assert_eq!(parse_whole_number("3e0"), Some(3));
        assert_eq!(parse_whole_number("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_whole_number("3.5"), None);
        assert_eq!(parse_whole_number("-1"), None);
        assert_eq!(parse_whole_number("x"), None);
    }

    #[test]
    fn timestamps_in_any_offset_and_precision_are_read_as_utc() {
        let t = parse_time("2026-11-25T05:27:34.123456789+02:00").unwrap();
        assert_eq!(
            t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            "2026-11-25T03:27:34.123456789Z"
        );
        assert!(parse_time("2026-11-25 03:27").is_none());
    }

    #[test]
    fn a_wrong_type_names_the_item_the_attribute_and_both_types() {
        let item: Item = [
            ("PK".to_string(), AttributeValue::S("GROUP#o#n#g".into())),
            ("SK".to_string(), AttributeValue::S("CONFIG".into())),
            ("ownerCluster".to_string(), AttributeValue::N("3".into())),
        ]
        .into();
        let err = Reader::new("t", &item).req_str("ownerCluster").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("GROUP#o#n#g / CONFIG"), "{text}");
        assert!(text.contains("ownerCluster"), "{text}");
        assert!(
            text.contains("expected a string (S), found a number (N)"),
            "{text}"
        );
    }

    #[test]
    fn go_zero_times_and_nulls_read_as_absent() {
        let item: Item = [
            (
                "a".to_string(),
                AttributeValue::S("0001-01-01T00:00:00Z".into()),
            ),
            ("b".to_string(), AttributeValue::Null(true)),
        ]
        .into();
        let r = Reader::new("t", &item);
        assert_eq!(r.opt_time("a").unwrap(), None);
        assert_eq!(r.opt_str("b").unwrap(), None);
    }
}
