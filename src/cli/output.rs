//! How the client commands print: `--format table|json|yaml`, and plain aligned tables.

use std::io::{self, BufWriter, StdoutLock, Write};

use clap::ValueEnum;
use serde::Serialize;

/// The output format of a listing or status command.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// One JSON document.
    Json,
    /// One YAML document.
    Yaml,
}

/// Prints `value` as JSON or YAML (for `Format::Table` the caller prints its own table).
pub fn print_document<T: Serialize>(format: Format, value: &T) -> Result<(), String> {
    let text = match format {
        Format::Json => serde_json::to_string_pretty(value).map_err(|e| e.to_string())? + "\n",
        Format::Yaml => serde_yaml_ng::to_string(value).map_err(|e| e.to_string())?,
        Format::Table => return Err("internal: a table has no document form".into()),
    };
    write_out(&text);
    Ok(())
}

/// Writes to standard output, ignoring a closed pipe (`khutulun … | head`).
pub fn write_out(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Writes to standard output with `write`, through one large buffer (standard output alone
/// is line-buffered: a system call per line), then flushes; like [`write_out`], a closed pipe
/// or any other write error is ignored.
pub fn write_with(write: impl FnOnce(&mut BufWriter<StdoutLock<'static>>) -> io::Result<()>) {
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let _ = write(&mut out).and_then(|()| out.flush());
}

/// Writes `value` to `out` as pretty JSON and a newline (the text of
/// `serde_json::to_string_pretty` and `\n`), serialised straight into the writer.
pub fn write_json<W: Write, T: Serialize + ?Sized>(out: &mut W, value: &T) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    out.write_all(b"\n")
}

/// Prints rows under a header, each column as wide as its widest cell.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (index, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if index + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  "));
            }
        }
        text.trim_end().to_owned() + "\n"
    };
    let mut text = line(header.to_vec());
    for row in rows {
        text.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    write_out(&text);
}

/// A JSON value as one table cell: strings bare, everything else as compact JSON.
pub fn cell(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    enum Kind {
        Known(serde_json::Value),
    }

    #[derive(Serialize)]
    struct Sample {
        name: &'static str,
        empty: Vec<u32>,
        values: indexmap::IndexMap<String, Kind>,
    }

    /// `write_json` writes the text the command printed when it went through a
    /// `serde_json::Value` and `to_string_pretty`: the output stays byte-identical.
    #[test]
    fn write_json_writes_what_a_value_rendered_to_a_string_writes() {
        let mut values = indexmap::IndexMap::new();
        values.insert(
            "z".to_owned(),
            Kind::Known(serde_json::json!({"b": [1, 2.5, null], "a": "quote \" and \n", "e": {}})),
        );
        values.insert("a".to_owned(), Kind::Known(serde_json::json!([])));
        let sample = Sample {
            name: "n0",
            empty: Vec::new(),
            values,
        };
        let through_value =
            serde_json::to_string_pretty(&serde_json::to_value(&sample).expect("a JSON value"))
                .expect("JSON text")
                + "\n";
        let mut streamed = Vec::new();
        write_json(&mut streamed, &sample).expect("written");
        assert_eq!(String::from_utf8(streamed).expect("UTF-8"), through_value);
    }
}
