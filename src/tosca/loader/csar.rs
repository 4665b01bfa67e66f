//! Reading CSAR archives (zip, tar, tar.gz) into memory.
//!
//! The format is recognised by content (zip and gzip magic numbers, the `ustar` mark of tar),
//! with the `.tar` extension as a fallback for old tar files that carry no mark, so a CSAR
//! named `.csar` or not named at all is still read. Every regular file is read into memory
//! once: templates are small, and the loader reads many of them. Entry names are normalized;
//! names that are absolute or climb out with `..` are refused, and the total size is capped so
//! that a hostile archive cannot exhaust memory.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::Path;

/// The most uncompressed content one archive may hold.
pub const MAX_ARCHIVE_BYTES: u64 = 256 * 1024 * 1024;

/// The archive formats a CSAR can come in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A zip file.
    Zip,
    /// An uncompressed tarball.
    Tar,
    /// A gzip-compressed tarball.
    TarGz,
}

/// Why an archive cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The bytes are not a well-formed archive of the detected format.
    #[error("it is not a readable {format} archive: {reason}")]
    Corrupt {
        /// The format it looked like.
        format: &'static str,
        /// What the decoder said.
        reason: String,
    },
    /// An entry name is absolute or climbs out of the archive.
    #[error("it holds the entry \"{0}\", whose name leaves the archive")]
    UnsafeName(String),
    /// The content is larger than [`MAX_ARCHIVE_BYTES`].
    #[error("it holds more than {} MiB of content", MAX_ARCHIVE_BYTES / (1024 * 1024))]
    TooLarge,
}

/// Recognises an archive by its first bytes, falling back on a `.tar` extension.
pub fn detect(bytes: &[u8], path: &Path) -> Option<Format> {
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return Some(Format::Zip);
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Some(Format::TarGz);
    }
    if bytes.get(257..262) == Some(b"ustar") {
        return Some(Format::Tar);
    }
    let tar_extension = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("tar"));
    (tar_extension && bytes.len() >= 512).then_some(Format::Tar)
}

/// The regular files of an archive, by normalized absolute path (`/dir/file.yaml`).
#[derive(Debug, Default)]
pub struct Archive {
    files: BTreeMap<String, Vec<u8>>,
}

impl Archive {
    /// Reads every regular file of an archive of the given format.
    pub fn read(bytes: &[u8], format: Format) -> Result<Archive, ArchiveError> {
        match format {
            Format::Zip => read_zip(bytes),
            Format::Tar => read_tar(bytes, "tar"),
            Format::TarGz => {
                let decoder = flate2::read::GzDecoder::new(bytes);
                read_tar(decoder, "tar.gz")
            }
        }
    }

    /// The content of one file, by normalized absolute path.
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    /// Every file path, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    fn insert(
        &mut self,
        name: &str,
        content: Vec<u8>,
        total: &mut u64,
    ) -> Result<(), ArchiveError> {
        *total += content.len() as u64;
        if *total > MAX_ARCHIVE_BYTES {
            return Err(ArchiveError::TooLarge);
        }
        let path =
            normalize_entry_name(name).ok_or_else(|| ArchiveError::UnsafeName(name.into()))?;
        self.files.insert(path, content);
        Ok(())
    }
}

/// `a/./b` → `/a/b`; `None` for absolute names and names whose `..` leave the archive.
fn normalize_entry_name(name: &str) -> Option<String> {
    if name.starts_with('/') || name.starts_with('\\') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for segment in name.split(['/', '\\']) {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

fn read_zip(bytes: &[u8]) -> Result<Archive, ArchiveError> {
    let corrupt = |e: zip::result::ZipError| ArchiveError::Corrupt {
        format: "zip",
        reason: e.to_string(),
    };
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(corrupt)?;
    let mut archive = Archive::default();
    let mut total = 0;
    for index in 0..zip.len() {
        let file = zip.by_index(index).map_err(corrupt)?;
        if !file.is_file() {
            continue;
        }
        let name = file.name().to_string();
        let mut content = Vec::new();
        file.take(MAX_ARCHIVE_BYTES + 1)
            .read_to_end(&mut content)
            .map_err(|e| ArchiveError::Corrupt {
                format: "zip",
                reason: e.to_string(),
            })?;
        archive.insert(&name, content, &mut total)?;
    }
    Ok(archive)
}

fn read_tar(reader: impl Read, format: &'static str) -> Result<Archive, ArchiveError> {
    let corrupt = |e: std::io::Error| ArchiveError::Corrupt {
        format,
        reason: e.to_string(),
    };
    let mut tar = tar::Archive::new(reader);
    let mut archive = Archive::default();
    let mut total = 0;
    for entry in tar.entries().map_err(corrupt)? {
        let entry = entry.map_err(corrupt)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry
            .path()
            .map_err(corrupt)?
            .to_string_lossy()
            .into_owned();
        let mut content = Vec::new();
        entry
            .take(MAX_ARCHIVE_BYTES + 1)
            .read_to_end(&mut content)
            .map_err(corrupt)?;
        archive.insert(&name, content, &mut total)?;
    }
    Ok(archive)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// Builds an archive of the given format from `(name, content)` pairs, for tests.
    pub(crate) fn build(format: Format, files: &[(&str, &str)]) -> Vec<u8> {
        match format {
            Format::Zip => {
                let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
                for (name, content) in files {
                    writer
                        .start_file(*name, zip::write::SimpleFileOptions::default())
                        .unwrap();
                    writer.write_all(content.as_bytes()).unwrap();
                }
                writer.finish().unwrap().into_inner()
            }
            Format::Tar => tar_bytes(files),
            Format::TarGz => {
                let mut encoder =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                encoder.write_all(&tar_bytes(files)).unwrap();
                encoder.finish().unwrap()
            }
        }
    }

    fn tar_bytes(files: &[(&str, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, content) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, name, content.as_bytes())
                .unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn detects_and_reads_every_format() {
        for format in [Format::Zip, Format::Tar, Format::TarGz] {
            let bytes = build(format, &[("a.yaml", "x"), ("./dir/b.yaml", "y")]);
            assert_eq!(detect(&bytes, Path::new("no-extension")), Some(format));
            let archive = Archive::read(&bytes, format).unwrap();
            assert_eq!(archive.get("/a.yaml"), Some(&b"x"[..]));
            assert_eq!(archive.get("/dir/b.yaml"), Some(&b"y"[..]));
            assert_eq!(archive.paths().count(), 2);
        }
    }

    #[test]
    fn plain_text_is_not_an_archive() {
        assert_eq!(
            detect(
                b"tosca_definitions_version: tosca_2_0\n",
                Path::new("a.csar")
            ),
            None
        );
    }

    #[test]
    fn corrupt_archives_are_errors() {
        let mut bytes = build(Format::Zip, &[("a.yaml", "x")]);
        bytes.truncate(10);
        assert!(Archive::read(&bytes, Format::Zip).is_err());
        assert!(Archive::read(&[0x1f, 0x8b, 0, 1, 2], Format::TarGz).is_err());
    }

    #[test]
    fn entry_names_must_stay_inside() {
        assert_eq!(normalize_entry_name("a/../b").as_deref(), Some("/b"));
        assert_eq!(normalize_entry_name("../b"), None);
        assert_eq!(normalize_entry_name("/etc/passwd"), None);
        let bytes = build(Format::Zip, &[("../evil.yaml", "x")]);
        assert!(matches!(
            Archive::read(&bytes, Format::Zip),
            Err(ArchiveError::UnsafeName(_))
        ));
    }
}
