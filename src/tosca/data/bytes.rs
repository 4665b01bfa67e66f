//! The TOSCA `bytes` type: arbitrary bytes written as a Base64 string.

use base64::Engine as _;

use super::error::DataError;
use super::primitive::describe;
use crate::tosca::value::{Value, ValueKind};

/// Decodes a `bytes` value. Line breaks and spaces inside the Base64 text are ignored, as
/// RFC 2045 allows; a YAML tag such as `!!binary` is refused, as the specification requires.
pub fn decode_bytes(value: &Value) -> Result<Vec<u8>, DataError> {
    if let Some(tag) = &value.tag {
        return Err(DataError::new(
            value.span,
            format!(
                "expected bytes as a Base64 string, found a value tagged {tag}; TOSCA does not accept YAML tags on bytes"
            ),
        ));
    }
    let ValueKind::String(text) = &value.kind else {
        return Err(DataError::new(
            value.span,
            format!(
                "expected bytes as a Base64 string, found {}",
                describe(value)
            ),
        ));
    };
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| {
            DataError::new(
                value.span,
                format!(
                    "expected bytes as a Base64 string, but this string is not valid Base64 ({e})"
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_base64_with_line_breaks() {
        let cases: &[(&str, Option<&[u8]>)] = &[
            ("", Some(b"")),
            ("aGVsbG8=", Some(b"hello")),
            ("aGVs\nbG8=", Some(b"hello")),
            ("aGVsbG8", None),
            ("not base64!", None),
        ];
        for (text, expected) in cases {
            let decoded = decode_bytes(&Value::string(*text)).ok();
            assert_eq!(decoded.as_deref(), *expected, "{text:?}");
        }
        let mut tagged = Value::string("aGVsbG8=");
        tagged.tag = Some("!!binary".into());
        assert!(decode_bytes(&tagged).is_err());
    }
}
