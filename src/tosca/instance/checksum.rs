//! An artifact's `checksum` checked against its file before the runtime uses it, so a node
//! never runs from a file other than the one its template vouches for.

use std::io::Read;

use ring::digest::{self, Algorithm};

use super::model::{ArtifactInstance, ArtifactLocation};

/// The `checksum_algorithm` names Khutulun verifies, as the error lists them.
const SUPPORTED: &str = "SHA-256, SHA-384, SHA-512 or SHA-1";

/// Why an artifact's file does not match its `checksum`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChecksumError {
    /// The template names an algorithm Khutulun does not compute.
    #[error("its checksum_algorithm {0:?} is not one Khutulun verifies (use {SUPPORTED})")]
    Unsupported(String),
    /// The file cannot be read.
    #[error("its file {location} cannot be read to verify its checksum: {reason}")]
    Unreadable {
        /// Where the file is.
        location: String,
        /// Why it cannot be read.
        reason: String,
    },
    /// The file is not the one the template vouches for.
    #[error("its file {location} has the {algorithm} checksum {actual}, not {expected}")]
    Mismatch {
        /// Where the file is.
        location: String,
        /// The algorithm as the template names it.
        algorithm: String,
        /// The checksum the template gives.
        expected: String,
        /// The file's checksum.
        actual: String,
    },
}

impl ArtifactInstance {
    /// Checks the file against the artifact's `checksum`. Nothing to check without one, or
    /// for a file at a URL: its downloaded copy is what is checked.
    pub fn verify_checksum(&self) -> Result<(), ChecksumError> {
        let (Some(expected), Some(algorithm)) = (&self.checksum, &self.checksum_algorithm) else {
            return Ok(());
        };
        if matches!(self.location, ArtifactLocation::Url { .. }) {
            return Ok(());
        }
        let digest = digest_of(&self.location, algorithm_named(algorithm)?)?;
        let actual = hex(digest.as_ref());
        if actual.eq_ignore_ascii_case(expected.trim()) {
            return Ok(());
        }
        Err(ChecksumError::Mismatch {
            location: self.location.to_string(),
            algorithm: algorithm.clone(),
            expected: expected.trim().to_owned(),
            actual,
        })
    }
}

/// The algorithm `name` means, whatever its case and dashes (`SHA-256`, `sha256`, `SHA_256`).
fn algorithm_named(name: &str) -> Result<&'static Algorithm, ChecksumError> {
    let plain: String = name
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' '))
        .collect::<String>()
        .to_ascii_lowercase();
    match plain.as_str() {
        "sha256" => Ok(&digest::SHA256),
        "sha384" => Ok(&digest::SHA384),
        "sha512" => Ok(&digest::SHA512),
        "sha1" => Ok(&digest::SHA1_FOR_LEGACY_USE_ONLY),
        _ => Err(ChecksumError::Unsupported(name.to_owned())),
    }
}

/// The digest of the file at `location`; a file on disk is read a piece at a time, so an
/// image archive of gigabytes is never held in memory.
fn digest_of(
    location: &ArtifactLocation,
    algorithm: &'static Algorithm,
) -> Result<digest::Digest, ChecksumError> {
    let unreadable = |reason: String| ChecksumError::Unreadable {
        location: location.to_string(),
        reason,
    };
    let Some(path) = location.local_path() else {
        let bytes = location.read().map_err(unreadable)?;
        return Ok(digest::digest(algorithm, &bytes));
    };
    let mut file = std::fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
    let mut context = digest::Context::new(algorithm);
    let mut buffer = vec![0; 1 << 16];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => return Ok(context.finish()),
            Ok(n) => context.update(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(unreadable(e.to_string())),
        }
    }
}

/// `bytes` as lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SHA-256 of "abc" (FIPS 180-2's example).
    const ABC_SHA256: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    fn artifact(
        path: &std::path::Path,
        checksum: Option<&str>,
        algorithm: &str,
    ) -> ArtifactInstance {
        ArtifactInstance {
            types: vec![],
            file: "abc.txt".into(),
            location: ArtifactLocation::File {
                path: path.display().to_string(),
            },
            repository: None,
            artifact_version: None,
            checksum: checksum.map(str::to_owned),
            checksum_algorithm: Some(algorithm.to_owned()),
            properties: Default::default(),
        }
    }

    #[test]
    fn a_checksum_is_verified_against_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc.txt");
        std::fs::write(&path, "abc").unwrap();
        let upper = ABC_SHA256.to_ascii_uppercase();
        let other = ABC_SHA256.replace("ba78", "0000");
        let cases: &[(Option<&str>, &str, bool)] = &[
            (Some(ABC_SHA256), "SHA-256", true),
            (Some(&upper), "sha256", true),
            (Some(ABC_SHA256), "SHA_256", true),
            (Some(&other), "SHA-256", false),
            (Some(ABC_SHA256), "SHA-512", false),
            (None, "SHA-256", true),
        ];
        for (checksum, algorithm, matches) in cases {
            let verdict = artifact(&path, *checksum, algorithm).verify_checksum();
            assert_eq!(
                verdict.is_ok(),
                *matches,
                "{checksum:?} {algorithm}: {verdict:?}"
            );
        }
        let mismatch = artifact(&path, Some(&other), "SHA-256").verify_checksum();
        assert_eq!(
            mismatch,
            Err(ChecksumError::Mismatch {
                location: path.display().to_string(),
                algorithm: "SHA-256".into(),
                expected: other.clone(),
                actual: ABC_SHA256.into(),
            })
        );
    }

    #[test]
    fn every_supported_algorithm_is_computed_and_others_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc.txt");
        std::fs::write(&path, "abc").unwrap();
        // The FIPS 180 digests of "abc".
        let known = [
            ("SHA-1", "a9993e364706816aba3e25717850c26c9cd0d89d"),
            (
                "SHA-384",
                "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
            ),
            (
                "SHA-512",
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            ),
        ];
        for (algorithm, checksum) in known {
            let verdict = artifact(&path, Some(checksum), algorithm).verify_checksum();
            assert_eq!(verdict, Ok(()), "{algorithm}");
        }
        let md5 = artifact(&path, Some("900150983cd24fb0d6963f7d28e17f72"), "MD5");
        let refused = md5.verify_checksum().unwrap_err().to_string();
        assert!(
            refused.contains("\"MD5\" is not one Khutulun verifies"),
            "{refused}"
        );
    }

    #[test]
    fn a_missing_file_is_named_and_a_url_is_left_to_whoever_fetches_it() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone.txt");
        let missing = artifact(&gone, Some(ABC_SHA256), "SHA-256").verify_checksum();
        assert!(
            matches!(&missing, Err(ChecksumError::Unreadable { location, .. }) if location == &gone.display().to_string()),
            "{missing:?}"
        );
        let mut remote = artifact(&gone, Some(ABC_SHA256), "SHA-256");
        remote.location = ArtifactLocation::Url {
            url: "https://example.com/abc.txt".into(),
        };
        assert_eq!(remote.verify_checksum(), Ok(()));
    }
}
