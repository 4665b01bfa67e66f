//! Opening an artifact's file wherever the processor located it: on disk, inside its CSAR, or
//! among the built-in profiles, so the runtime can run or unpack it without the TOSCA files.

use std::path::Path;

use super::model::ArtifactLocation;
use crate::tosca::loader::csar::{self, Archive};
use crate::tosca::loader::{built_in, store::Store};

impl ArtifactLocation {
    /// The file's path when it is a file on disk (nothing to copy out first).
    pub fn local_path(&self) -> Option<&Path> {
        match self {
            ArtifactLocation::File { path } => Some(Path::new(path)),
            _ => None,
        }
    }

    /// The file's content, or one sentence saying why it cannot be read. A URL is refused:
    /// the runtime downloads it into the store's cache first and reads that copy.
    pub fn read(&self) -> Result<Vec<u8>, String> {
        match self {
            ArtifactLocation::File { path } => {
                Store::read_bytes(Path::new(path)).map_err(|e| e.to_string())
            }
            ArtifactLocation::Archive { archive, path } => {
                let bytes = Store::read_bytes(Path::new(archive)).map_err(|e| e.to_string())?;
                let format = csar::detect(&bytes, Path::new(archive))
                    .ok_or_else(|| format!("{archive} is not a zip or tar archive"))?;
                let files = Archive::read(&bytes, format)
                    .map_err(|e| format!("{archive} cannot be read: {e}"))?;
                files
                    .get(path)
                    .map(<[u8]>::to_vec)
                    .ok_or_else(|| format!("{archive} holds no file {path}"))
            }
            ArtifactLocation::BuiltIn { path } => built_in::get(path)
                .map(|text| text.as_bytes().to_vec())
                .ok_or_else(|| format!("there is no built-in file {path}")),
            ArtifactLocation::Url { url } => Err(format!(
                "{url} is a URL: its downloaded copy is read instead (a deploy downloads it)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tosca::loader::csar::{Format, tests::build};

    #[test]
    fn a_file_is_read_from_disk_from_its_csar_or_refused_at_a_url() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("install.sh");
        std::fs::write(&script, "echo installing\n").unwrap();
        let on_disk = ArtifactLocation::File {
            path: script.display().to_string(),
        };
        assert_eq!(on_disk.local_path(), Some(script.as_path()));
        assert_eq!(on_disk.read().unwrap(), b"echo installing\n");

        let csar = dir.path().join("app.csar");
        std::fs::write(
            &csar,
            build(
                Format::Zip,
                &[("scripts/install.sh", "echo from the csar\n")],
            ),
        )
        .unwrap();
        let inside = ArtifactLocation::Archive {
            archive: csar.display().to_string(),
            path: "/scripts/install.sh".into(),
        };
        assert_eq!(inside.local_path(), None);
        assert_eq!(inside.read().unwrap(), b"echo from the csar\n");
        let missing = ArtifactLocation::Archive {
            archive: csar.display().to_string(),
            path: "/scripts/none.sh".into(),
        };
        assert!(
            missing
                .read()
                .unwrap_err()
                .contains("holds no file /scripts/none.sh")
        );

        let url = ArtifactLocation::Url {
            url: "https://example.com/install.sh".into(),
        };
        assert!(url.read().unwrap_err().contains("is a URL"));
        let gone = ArtifactLocation::File {
            path: dir.path().join("gone.sh").display().to_string(),
        };
        assert!(gone.read().unwrap_err().contains("does not exist"));
    }
}
