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
use serde_yaml_ng::{Mapping, Value};

use super::StoreError;

/// The newest format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

const FORMAT_KEY: &str = "format_version";
const EPOCH_KEY: &str = "epoch";

/// Renders `record` as a store file written at fencing epoch `epoch`.
pub fn render<T: Serialize>(record: &T, epoch: u64) -> Result<Vec<u8>, serde_yaml_ng::Error> {
    let mut document = Mapping::new();
    document.insert(FORMAT_KEY.into(), FORMAT_VERSION.into());
    document.insert(EPOCH_KEY.into(), epoch.into());
    match serde_yaml_ng::to_value(record)? {
        Value::Mapping(fields) => {
            for (key, value) in fields {
                document.insert(key, value);
            }
        }
        other => {
            document.insert("value".into(), other);
        }
    }
    Ok(serde_yaml_ng::to_string(&document)?.into_bytes())
}

/// Reads the envelope of a store file: its fields without the envelope, and the epoch it was
/// written at. A file that does not parse, has no format version or a newer one is an error
/// naming `path`.
pub fn open(path: &Path, bytes: &[u8]) -> Result<(Mapping, u64), StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    let value: Value = serde_yaml_ng::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
    let Value::Mapping(mut fields) = value else {
        return Err(corrupt("it is not a mapping".into()));
    };
    let version = match fields.remove(FORMAT_KEY) {
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| corrupt("format_version is not a positive integer".into()))?,
        Some(_) => return Err(corrupt("format_version is not a positive integer".into())),
        None => return Err(corrupt("it has no format_version".into())),
    };
    if version > u64::from(FORMAT_VERSION) {
        return Err(StoreError::FutureVersion {
            path: path.to_owned(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    if version == 0 {
        return Err(corrupt("format_version 0 does not exist".into()));
    }
    let epoch = match fields.remove(EPOCH_KEY) {
        Some(value) => value
            .as_u64()
            .ok_or_else(|| corrupt("epoch is not a positive integer".into()))?,
        None => 0,
    };
    Ok((fields, epoch))
}

/// Parses a store file into its record.
pub fn parse<T: DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T, StoreError> {
    let (fields, _) = open(path, bytes)?;
    serde_yaml_ng::from_value(Value::Mapping(fields)).map_err(|e| StoreError::Corrupt {
        path: path.to_owned(),
        reason: e.to_string(),
    })
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
        assert_eq!(open(path, &bytes).unwrap().1, 7);
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
}
