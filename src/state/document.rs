//! The envelope of every store file: `format_version` (which Khutulun can read it) and `epoch`
//! (the fencing epoch of the write that produced it), followed by the record's own fields.
//!
//! ```yaml
//! format_version: 1
//! epoch: 42
//! name: alpha
//! ...
//! ```

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_yaml_ng::Value;

use super::StoreError;

/// The newest format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

const FORMAT_KEY: &str = "format_version";
const EPOCH_KEY: &str = "epoch";

/// The envelope written before a record's own fields.
#[derive(Serialize)]
struct Written<'a, T> {
    format_version: u32,
    epoch: u64,
    #[serde(flatten)]
    record: &'a T,
}

/// Renders `record` (a struct or a map) as a store file written at fencing epoch `epoch`,
/// straight to text: no tree of values is built on the way.
pub fn render<T: Serialize>(record: &T, epoch: u64) -> Result<Vec<u8>, serde_yaml_ng::Error> {
    let written = Written {
        format_version: FORMAT_VERSION,
        epoch,
        record,
    };
    Ok(serde_yaml_ng::to_string(&written)?.into_bytes())
}

/// Checks that a store file is one this build can read and replace: it parses, is a mapping,
/// and has a format version this build reads; its epoch. Only the envelope is kept (the rest
/// is parsed and skipped).
pub fn check(path: &Path, bytes: &[u8]) -> Result<u64, StoreError> {
    let envelope: Envelope = serde_yaml_ng::from_slice(bytes).map_err(|e| {
        let reason = e.to_string();
        corrupt(path, reason)
    })?;
    envelope.epoch(path)
}

fn corrupt(path: &Path, reason: String) -> StoreError {
    StoreError::Corrupt {
        path: path.to_owned(),
        reason,
    }
}

/// The envelope's two fields as found (any YAML value), the rest of the file skipped.
#[derive(Default)]
struct Envelope {
    format_version: Option<Value>,
    epoch: Option<Value>,
}

impl Envelope {
    /// The envelope as [`render`] writes it, `format_version: N` then `epoch: N` on the first
    /// two lines; `None` when the file does not begin so.
    fn from_head(bytes: &[u8]) -> Option<Envelope> {
        let mut lines = bytes.splitn(3, |&b| b == b'\n');
        let number = |line: Option<&[u8]>, key: &str| -> Option<Value> {
            let digits = line?.strip_prefix(key.as_bytes())?.strip_prefix(b": ")?;
            let digits = std::str::from_utf8(digits).ok()?;
            let all_digits = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
            all_digits.then(|| digits.parse::<u64>().ok().map(Value::from))?
        };
        let format_version = Some(number(lines.next(), FORMAT_KEY)?);
        let epoch = Some(number(lines.next(), EPOCH_KEY)?);
        Some(Envelope {
            format_version,
            epoch,
        })
    }

    /// The epoch, once the format version says this build reads the file.
    fn epoch(self, path: &Path) -> Result<u64, StoreError> {
        let version = match self.format_version {
            Some(Value::Number(n)) => n
                .as_u64()
                .ok_or_else(|| corrupt(path, "format_version is not a positive integer".into()))?,
            Some(_) => {
                return Err(corrupt(
                    path,
                    "format_version is not a positive integer".into(),
                ));
            }
            None => return Err(corrupt(path, "it has no format_version".into())),
        };
        if version > u64::from(FORMAT_VERSION) {
            return Err(StoreError::FutureVersion {
                path: path.to_owned(),
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if version == 0 {
            return Err(corrupt(path, "format_version 0 does not exist".into()));
        }
        match self.epoch {
            Some(value) => value
                .as_u64()
                .ok_or_else(|| corrupt(path, "epoch is not a positive integer".into())),
            None => Ok(0),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Envelope {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EnvelopeVisitor)
    }
}

/// Reads only a mapping, keeping the envelope's fields and skipping every other value.
struct EnvelopeVisitor;

impl<'de> serde::de::Visitor<'de> for EnvelopeVisitor {
    type Value = Envelope;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a mapping (it is not a mapping)")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Envelope, A::Error> {
        let mut envelope = Envelope::default();
        while let Some(key) = map.next_key::<Value>()? {
            match key.as_str() {
                Some(FORMAT_KEY) => envelope.format_version = Some(map.next_value()?),
                Some(EPOCH_KEY) => envelope.epoch = Some(map.next_value()?),
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(envelope)
    }
}

/// Parses a store file into its record, straight from its text (no tree of values on the
/// way). The envelope is taken from the file's first two lines when they are as [`render`]
/// writes them, else from the whole file; either way the record's own parse reads every byte.
pub fn parse<T: DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T, StoreError> {
    match Envelope::from_head(bytes) {
        Some(envelope) => envelope.epoch(path)?,
        None => check(path, bytes)?,
    };
    serde_yaml_ng::from_slice(bytes).map_err(|e| corrupt(path, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        name: String,
        count: u32,
    }

    #[test]
    fn a_record_round_trips_with_its_envelope_first() {
        let sample = Sample {
            name: "web".into(),
            count: 3,
        };
        let bytes = render(&sample, 7).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("format_version: 1\nepoch: 7\n"), "{text}");
        let path = Path::new("/s/x.yaml");
        assert_eq!(parse::<Sample>(path, &bytes).unwrap(), sample);
        assert_eq!(check(path, &bytes).unwrap(), 7);
    }

    #[test]
    fn a_file_without_version_or_with_a_future_one_is_refused_with_its_path() {
        let path = Path::new("/s/x.yaml");
        let error = parse::<Sample>(path, b"name: web\ncount: 1\n").unwrap_err();
        assert!(error.to_string().contains("/s/x.yaml"), "{error}");
        let error = parse::<Sample>(path, b"format_version: 9\nname: web\ncount: 1\n").unwrap_err();
        assert!(
            matches!(error, StoreError::FutureVersion { found: 9, .. }),
            "{error}"
        );
        let error = parse::<Sample>(path, b"format_version: 1\nname: [\n").unwrap_err();
        assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
    }

    #[test]
    fn the_envelope_check_and_the_parse_refuse_what_this_build_cannot_read() {
        let path = Path::new("/s/x.yaml");
        let good = render(
            &Sample {
                name: "web".into(),
                count: 3,
            },
            7,
        )
        .unwrap();
        assert_eq!(check(path, &good).unwrap(), 7);
        let refused: [&[u8]; 9] = [
            b"name: web\n",
            b"format_version: 9\nname: web\n",
            b"format_version: 9\nepoch: 1\nname: web\n",
            b"format_version: 1\nepoch: 3\nname: [\n",
            b"format_version: 0\n",
            b"format_version: one\n",
            b"format_version: 1\nepoch: -3\n",
            b"format_version: 1\nname: [\n",
            b"- format_version\n- 1\n",
        ];
        for bytes in refused {
            let text = String::from_utf8_lossy(bytes);
            let checked = check(path, bytes).map_err(|e| e.to_string());
            let parsed = parse::<Sample>(path, bytes).map_err(|e| e.to_string());
            assert!(
                checked.is_err() && parsed.is_err(),
                "{text}: {checked:?} {parsed:?}"
            );
        }
    }
}
