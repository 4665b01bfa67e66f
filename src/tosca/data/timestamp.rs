//! The TOSCA `timestamp` type: an RFC 3339 string, compared as a UTC instant.
//!
//! We check the RFC 3339 shape ourselves before handing the text to `chrono`, because chrono's
//! parser is lenient (it accepts a space between date and time, which TOSCA refuses). A
//! full-date alone (`2000-02-29`) is accepted as midnight UTC, as the conformance suite expects.
//! The "unknown local offset" `-00:00` is treated as UTC, as the specification says.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};

use super::error::DataError;
use crate::tosca::source::Span;
use crate::tosca::value::{Value, ValueKind};

/// A parsed timestamp: the text as written, and the instant it denotes.
#[derive(Clone, Debug)]
pub struct Timestamp {
    text: String,
    instant: DateTime<Utc>,
}

impl Timestamp {
    /// Reads a timestamp from a YAML node, which must be an untagged string (`!!timestamp` is
    /// refused, as the specification requires).
    pub fn from_value(value: &Value) -> Result<Timestamp, DataError> {
        if let Some(tag) = &value.tag {
            return Err(DataError::new(
                value.span,
                format!(
                    "expected an RFC 3339 timestamp string, found a value tagged {tag}; TOSCA does not accept YAML tags on timestamps"
                ),
            ));
        }
        match &value.kind {
            ValueKind::String(s) => s
                .parse::<Timestamp>()
                .map_err(|e| DataError::new(value.span, e.message)),
            _ => Err(DataError::new(
                value.span,
                format!(
                    "expected an RFC 3339 timestamp string such as \"2025-04-12T23:20:50Z\", found a {}",
                    value.kind_name()
                ),
            )),
        }
    }

    /// The instant in UTC, used for every comparison.
    pub fn utc(&self) -> DateTime<Utc> {
        self.instant
    }

    /// The text as the author wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for Timestamp {
    type Err = DataError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| {
            DataError::new(
                Span::NONE,
                format!(
                    "{text:?} is not an RFC 3339 timestamp: {why}; expected a form such as \"2025-04-12T23:20:50.52Z\" or \"1996-12-19T16:39:57-08:00\""
                ),
            )
        };
        let bytes = text.as_bytes();
        let digits = |range: std::ops::Range<usize>| {
            bytes
                .get(range)
                .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
        };
        let date_ok = digits(0..4)
            && bytes.get(4) == Some(&b'-')
            && digits(5..7)
            && bytes.get(7) == Some(&b'-')
            && digits(8..10);
        if !date_ok {
            return Err(bad("it does not start with a date YYYY-MM-DD"));
        }
        if bytes.len() == 10 {
            let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| bad("the date does not exist"))?;
            let instant = date
                .and_hms_opt(0, 0, 0)
                .map(|t| t.and_utc())
                .ok_or_else(|| bad("the date does not exist"))?;
            return Ok(Timestamp {
                text: text.to_string(),
                instant,
            });
        }
        match bytes[10] {
            b'T' | b't' => {}
            b' ' => return Err(bad("date and time must be separated by T, not a space")),
            _ => return Err(bad("the date must be followed by T and a time")),
        }
        let time_ok = digits(11..13)
            && bytes.get(13) == Some(&b':')
            && digits(14..16)
            && bytes.get(16) == Some(&b':')
            && digits(17..19);
        if !time_ok {
            return Err(bad("the time must be HH:MM:SS"));
        }
        let mut at = 19;
        if bytes.get(at) == Some(&b'.') {
            let start = at + 1;
            at = start;
            while bytes.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            if at == start {
                return Err(bad("the fraction of a second has no digits"));
            }
        }
        let offset = &text[at..];
        let offset_ok = matches!(offset, "Z" | "z")
            || (offset.len() == 6
                && matches!(offset.as_bytes()[0], b'+' | b'-')
                && offset.as_bytes()[3] == b':'
                && digits(at + 1..at + 3)
                && digits(at + 4..at + 6));
        if !offset_ok {
            return Err(bad("the time must end with Z or an offset such as +01:00"));
        }
        let parsed = DateTime::parse_from_rfc3339(text)
            .map_err(|e| bad(&format!("the date or time is out of range ({e})")))?;
        Ok(Timestamp {
            text: text.to_string(),
            instant: parsed.with_timezone(&Utc),
        })
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> Ordering {
        self.instant.cmp(&other.instant)
    }
}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        self.instant == other.instant
    }
}

impl Eq for Timestamp {}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn accepts_rfc3339() {
        for ok in [
            "2025-04-12T23:20:50.52Z",
            "1996-12-19T16:39:57-08:00",
            "1990-12-31T15:59:60-08:00",
            "2000-02-29",
            "2001-12-14t21:59:43.10z",
            "2001-12-14T21:59:43-00:00",
        ] {
            assert_eq!(t(ok).to_string(), ok);
        }
    }

    #[test]
    fn refuses_other_shapes() {
        for bad in [
            "2001-12-14 21:59:43.10",
            "2001-12-14 21:59:43.10Z",
            "2001-12-14T21:59:43",
            "2001-12-14T21:59Z",
            "2001-12-14T21:59:43.Z",
            "2001-12-14T21:59:43+0100",
            "2001-02-30",
            "2001-13-01T00:00:00Z",
            "2001-12-14T25:00:00Z",
            "20011214",
            "",
        ] {
            assert!(
                bad.parse::<Timestamp>().is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn compares_in_utc() {
        assert_eq!(t("1996-12-19T16:39:57-08:00"), t("1996-12-20T00:39:57Z"));
        assert!(t("1996-12-19T16:39:57-08:00") > t("1996-12-19T16:39:57Z"));
        assert_eq!(t("2001-12-14T21:59:43-00:00"), t("2001-12-14T21:59:43Z"));
        assert_eq!(t("2000-02-29"), t("2000-02-29T00:00:00Z"));
    }

    #[test]
    fn refuses_tags_and_non_strings() {
        let mut tagged = Value::string("2001-12-14T21:59:43Z");
        tagged.tag = Some("!!timestamp".into());
        assert!(Timestamp::from_value(&tagged).is_err());
        assert!(Timestamp::from_value(&Value::new(ValueKind::Integer(5))).is_err());
        assert!(Timestamp::from_value(&Value::string("2001-12-14T21:59:43Z")).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn formatted_instants_parse_to_the_same_instant(
            seconds in 0i64..4_102_444_800,
            nanos in 0u32..1_000_000_000,
            offset_minutes in -1439i32..1440,
        ) {
            let offset = chrono::FixedOffset::east_opt(offset_minutes * 60).expect("in range");
            let instant = DateTime::from_timestamp(seconds, nanos).expect("in range");
            let text = instant.with_timezone(&offset).to_rfc3339();
            let parsed: Timestamp = text.parse().expect("chrono's RFC 3339 parses");
            proptest::prop_assert_eq!(parsed.utc(), instant);
            let later = DateTime::from_timestamp(seconds + 1, nanos).expect("in range");
            let later: Timestamp = later.to_rfc3339().parse().expect("parses");
            proptest::prop_assert!(parsed < later);
        }
    }
}
