//! Records parsed once per content: every host reads every host record each catch-up period
//! (for the leases and membership), every step of a deploy or update reads its service's
//! record (the whole instantiation) in its transaction, and parsing YAML costs far more than
//! reading or comparing the bytes, so a record whose bytes did not change is not parsed again,
//! and one this process wrote is known by its bytes before it is read.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;

use super::StoreError;
use super::document;

/// The most files one cache keeps (it starts over past it: files of removed services are
/// not forgotten one by one).
const MAX_ENTRIES: usize = 512;

/// Each file's name, the bytes last read of it and what they parsed to.
type Entries<T> = BTreeMap<String, (Vec<u8>, T)>;

/// The last bytes read of each file of one store folder, with what they parsed to.
#[derive(Debug)]
pub struct ParsedCache<T> {
    entries: Arc<Mutex<Entries<T>>>,
}

impl<T> Clone for ParsedCache<T> {
    fn clone(&self) -> Self {
        ParsedCache {
            entries: self.entries.clone(),
        }
    }
}

impl<T> Default for ParsedCache<T> {
    fn default() -> Self {
        ParsedCache {
            entries: Arc::default(),
        }
    }
}

impl<T: DeserializeOwned + Clone> ParsedCache<T> {
    /// What `bytes`, the content of `path` (named `name` in its folder), parse to: the cached
    /// record when they are the bytes it was parsed from.
    pub fn parse(&self, name: &str, path: &Path, bytes: Vec<u8>) -> Result<T, StoreError> {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((seen, record)) = entries.get(name)
            && *seen == bytes
        {
            return Ok(record.clone());
        }
        let record: T = document::parse(path, &bytes)?;
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(name.to_owned(), (bytes, record.clone()));
        Ok(record)
    }

    /// Remembers that `bytes`, about to be written to the file named `name`, are `record`:
    /// the next read of them parses nothing. A cache past [`MAX_ENTRIES`] starts over.
    pub fn prime(&self, name: &str, bytes: Vec<u8>, record: T) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(name.to_owned(), (bytes, record));
    }

    /// Forgets the files not among `names` (removed from the folder).
    pub fn keep_only(&self, names: &[String]) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.retain(|name, _| names.contains(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_bytes_give_the_cached_record_and_new_bytes_a_new_one() {
        let cache = ParsedCache::<serde_yaml_ng::Value>::default();
        let path = Path::new("/store/hosts/a.yaml");
        let first = cache
            .parse("a.yaml", path, b"format_version: 1\nname: a".to_vec())
            .unwrap();
        assert_eq!(first["name"], "a");
        let changed = cache
            .parse("a.yaml", path, b"format_version: 1\nname: b".to_vec())
            .unwrap();
        assert_eq!(changed["name"], "b");
        assert!(cache.parse("a.yaml", path, b"name: [".to_vec()).is_err());
        cache.keep_only(&[]);
        assert!(cache.entries.lock().unwrap().is_empty());
    }

    #[test]
    fn primed_bytes_give_the_primed_record_without_a_parse() {
        let cache = ParsedCache::<serde_yaml_ng::Value>::default();
        let path = Path::new("/store/services/a/service.yaml");
        let primed = serde_yaml_ng::Value::from("as written");
        cache.prime("a", b"format_version: 1\nname: a".to_vec(), primed.clone());
        let read = cache.parse("a", path, b"format_version: 1\nname: a".to_vec());
        assert_eq!(read.unwrap(), primed);
        let other = cache.parse("a", path, b"format_version: 1\nname: b".to_vec());
        assert_eq!(other.unwrap()["name"], "b");
    }
}
