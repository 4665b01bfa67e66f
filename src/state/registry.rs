//! Store operations on the registries of templates, profiles and delegates: each entry is a
//! folder `registry/<kind>/<namespace>/<name>/` with `entry.yaml` and the files as given.

use super::records::RegistryEntry;
use super::{RegistryKind, Store, StoreError, check_name};

/// The record file of a registry entry, beside its files.
pub const ENTRY_FILE: &str = "entry.yaml";

impl Store {
    /// Registers `entry` with its files (relative path → content), replacing an older
    /// registration of the same name. Written in one transaction, `entry.yaml` last.
    pub fn register(
        &self,
        entry: &RegistryEntry,
        files: Vec<(String, Vec<u8>)>,
    ) -> Result<(), StoreError> {
        check_name("namespace", &entry.namespace)?;
        check_name(entry.kind.singular(), &entry.name)?;
        for (relative, _) in &files {
            for part in relative.split('/') {
                check_name("file", part)?;
            }
            if relative == ENTRY_FILE {
                return Err(StoreError::InvalidName {
                    kind: "file",
                    name: relative.clone(),
                });
            }
        }
        self.transact(|tx| {
            let dir = tx
                .layout()
                .registry_entry(entry.kind, &entry.namespace, &entry.name);
            let entry_path = dir.join(ENTRY_FILE);
            if tx.read::<RegistryEntry>(&entry_path)?.is_some() {
                tx.remove(&entry_path)?;
            }
            tx.remove_files_dir(&dir);
            for (relative, bytes) in files {
                tx.put_bytes(&dir.join(relative), bytes);
            }
            tx.put(&dir.join(ENTRY_FILE), entry)
        })
    }

    /// Every entry of one registry.
    pub fn list_registry(&self, kind: RegistryKind) -> Result<Vec<RegistryEntry>, StoreError> {
        let root = self.layout().registry(kind);
        let mut entries = Vec::new();
        for namespace in self.list(&root)? {
            for name in self.list(&root.join(&namespace))? {
                let path = root.join(&namespace).join(&name).join(ENTRY_FILE);
                if let Some(entry) = self.read(&path)? {
                    entries.push(entry);
                }
            }
        }
        Ok(entries)
    }

    /// One registered entry, if there is one.
    pub fn registry_entry(
        &self,
        kind: RegistryKind,
        namespace: &str,
        name: &str,
    ) -> Result<Option<RegistryEntry>, StoreError> {
        check_name("namespace", namespace)?;
        check_name(kind.singular(), name)?;
        let dir = self.layout().registry_entry(kind, namespace, name);
        self.read(&dir.join(ENTRY_FILE))
    }

    /// Removes a registered entry; refused when there is none.
    pub fn delist(
        &self,
        kind: RegistryKind,
        namespace: &str,
        name: &str,
    ) -> Result<(), StoreError> {
        check_name("namespace", namespace)?;
        check_name(kind.singular(), name)?;
        self.transact(|tx| {
            let dir = tx.layout().registry_entry(kind, namespace, name);
            if tx.read::<RegistryEntry>(&dir.join(ENTRY_FILE))?.is_none() {
                return Err(StoreError::NotFound(format!(
                    "{} {namespace}/{name}",
                    kind.singular()
                )));
            }
            tx.remove(&dir.join(ENTRY_FILE))?;
            tx.remove_files_dir(&dir);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_is_registered_listed_and_delisted() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let entry = RegistryEntry {
            kind: RegistryKind::Templates,
            namespace: "default".into(),
            name: "hello".into(),
            source: "/tmp/hello.yaml".into(),
            entry: "hello.yaml".into(),
            registered: "now".into(),
        };
        store
            .register(&entry, vec![("hello.yaml".into(), b"tosca".to_vec())])
            .unwrap();
        assert_eq!(
            store.list_registry(RegistryKind::Templates).unwrap(),
            vec![entry.clone()]
        );
        let file = store
            .layout()
            .registry_entry(RegistryKind::Templates, "default", "hello")
            .join("hello.yaml");
        assert_eq!(std::fs::read(&file).unwrap(), b"tosca");
        store
            .delist(RegistryKind::Templates, "default", "hello")
            .unwrap();
        assert!(
            store
                .list_registry(RegistryKind::Templates)
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .delist(RegistryKind::Templates, "default", "hello")
                .is_err()
        );
    }

    #[test]
    fn file_names_that_escape_the_entry_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let entry = RegistryEntry {
            kind: RegistryKind::Profiles,
            namespace: "default".into(),
            name: "p".into(),
            source: "x".into(),
            entry: "p.yaml".into(),
            registered: "now".into(),
        };
        assert!(
            store
                .register(&entry, vec![("../x".into(), vec![])])
                .is_err()
        );
    }
}
