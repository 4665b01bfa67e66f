//! Where each record lives in the store. These names are a contract between hosts (and between
//! versions of Khutulun): change them only with a new format version.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::StoreError;

/// The paths of the store rooted at one directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    root: PathBuf,
}

/// The three registries of `registry/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistryKind {
    /// TOSCA profiles (type libraries) that templates import by name.
    Profiles,
    /// Service templates that can be deployed by name.
    Templates,
    /// Delegate plugins.
    Delegates,
}

impl RegistryKind {
    /// The folder name under `registry/`.
    pub fn folder(self) -> &'static str {
        match self {
            RegistryKind::Profiles => "profiles",
            RegistryKind::Templates => "templates",
            RegistryKind::Delegates => "delegates",
        }
    }

    /// What one entry is called, for messages ("template", "profile", "delegate").
    pub fn singular(self) -> &'static str {
        match self {
            RegistryKind::Profiles => "profile",
            RegistryKind::Templates => "template",
            RegistryKind::Delegates => "delegate",
        }
    }
}

impl fmt::Display for RegistryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.folder())
    }
}

impl FromStr for RegistryKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "profiles" => Ok(RegistryKind::Profiles),
            "templates" => Ok(RegistryKind::Templates),
            "delegates" => Ok(RegistryKind::Delegates),
            other => Err(format!("there is no registry named {other:?}")),
        }
    }
}

/// Checks that `name` can be one path component of the store: letters, digits, `.`, `_`, `-`,
/// starting with a letter or digit (so never `..`, never hidden, never a separator).
pub fn check_name(kind: &'static str, name: &str) -> Result<(), StoreError> {
    let valid = name.len() <= 128
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if valid {
        Ok(())
    } else {
        Err(StoreError::InvalidName {
            kind,
            name: name.to_owned(),
        })
    }
}

impl Layout {
    /// The layout of the store at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Layout { root: root.into() }
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `cluster.yaml`: the cluster's identity.
    pub fn cluster(&self) -> PathBuf {
        self.root.join("cluster.yaml")
    }

    /// `cluster-secret.yaml`: the key that authenticates hosts to each other.
    pub fn cluster_secret(&self) -> PathBuf {
        self.root.join("cluster-secret.yaml")
    }

    /// `hosts/`.
    pub fn hosts(&self) -> PathBuf {
        self.root.join("hosts")
    }

    /// `hosts/<host>.yaml`.
    pub fn host(&self, host: &str) -> PathBuf {
        self.hosts().join(format!("{host}.yaml"))
    }

    /// `registry/<kind>/`.
    pub fn registry(&self, kind: RegistryKind) -> PathBuf {
        self.root.join("registry").join(kind.folder())
    }

    /// `registry/<kind>/<namespace>/<name>/`: one registered entry's folder.
    pub fn registry_entry(&self, kind: RegistryKind, namespace: &str, name: &str) -> PathBuf {
        self.registry(kind).join(namespace).join(name)
    }

    /// `services/`.
    pub fn services(&self) -> PathBuf {
        self.root.join("services")
    }

    /// `services/<namespace>/<service>/`.
    pub fn service_dir(&self, namespace: &str, service: &str) -> PathBuf {
        self.services().join(namespace).join(service)
    }

    /// `services/<namespace>/<service>/service.yaml`: written last on deploy, so a service
    /// folder without it is an incomplete deploy that readers ignore.
    pub fn service(&self, namespace: &str, service: &str) -> PathBuf {
        self.service_dir(namespace, service).join("service.yaml")
    }

    /// `services/<namespace>/<service>/plan.yaml`: which host runs which instance.
    pub fn plan(&self, namespace: &str, service: &str) -> PathBuf {
        self.service_dir(namespace, service).join("plan.yaml")
    }

    /// `services/<namespace>/<service>/instances/`.
    pub fn instances(&self, namespace: &str, service: &str) -> PathBuf {
        self.service_dir(namespace, service).join("instances")
    }

    /// `services/<namespace>/<service>/instances/<id>.yaml`.
    pub fn instance(&self, namespace: &str, service: &str, id: &str) -> PathBuf {
        self.instances(namespace, service)
            .join(format!("{id}.yaml"))
    }

    /// `ports/<host>.yaml`: the port reservations of one host.
    pub fn ports(&self, host: &str) -> PathBuf {
        self.root.join("ports").join(format!("{host}.yaml"))
    }

    /// `directories/<host>.yaml`: which instance holds which directory path on one host.
    pub fn directory_claims(&self, host: &str) -> PathBuf {
        self.root.join("directories").join(format!("{host}.yaml"))
    }

    /// `leases/<host>.yaml`: when the host's agent last said it runs.
    pub fn lease(&self, host: &str) -> PathBuf {
        self.leases().join(format!("{host}.yaml"))
    }

    /// `leases/`.
    pub fn leases(&self) -> PathBuf {
        self.root.join("leases")
    }

    /// `locks/`.
    pub fn locks(&self) -> PathBuf {
        self.root.join("locks")
    }

    /// `locks/store.lock`: the exclusive lock every writer holds while it writes.
    pub fn store_lock(&self) -> PathBuf {
        self.locks().join("store.lock")
    }

    /// `locks/staging/`: where a commit writes its files before it puts any in place.
    pub fn staging(&self) -> PathBuf {
        self.locks().join("staging")
    }

    /// `locks/epoch.yaml`: the fencing epoch, bumped by every committed write.
    pub fn epoch(&self) -> PathBuf {
        self.locks().join("epoch.yaml")
    }

    /// `locks/hosts/<host>.lock`: held by the agent that runs as `host` for as long as it runs,
    /// so no two agents act as the same host on one store.
    pub fn host_lock(&self, host: &str) -> PathBuf {
        self.locks().join("hosts").join(format!("{host}.lock"))
    }

    /// `locks/probe.lock`: what the start-up check locks twice to see that locks exclude.
    pub fn probe_lock(&self) -> PathBuf {
        self.locks().join("probe.lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_escape_the_store_are_refused() {
        for bad in ["", "..", ".hidden", "a/b", "a b", "-x", "é"] {
            assert!(check_name("service", bad).is_err(), "{bad:?}");
        }
        for good in ["web", "web-1", "a.b_c", "9lives"] {
            assert!(check_name("service", good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn the_layout_follows_the_contract() {
        let layout = Layout::new("/s");
        assert_eq!(
            layout.instance("default", "shop", "web-0"),
            PathBuf::from("/s/services/default/shop/instances/web-0.yaml")
        );
        assert_eq!(
            layout.registry_entry(RegistryKind::Templates, "default", "hello"),
            PathBuf::from("/s/registry/templates/default/hello")
        );
        assert_eq!(layout.ports("alpha"), PathBuf::from("/s/ports/alpha.yaml"));
        assert_eq!(
            layout.directory_claims("alpha"),
            PathBuf::from("/s/directories/alpha.yaml")
        );
    }
}
