//! The node's artifacts made ready before its instance is made: those at a URL downloaded
//! into the store's cache (once for every instance and host), and each with a `checksum`
//! verified against the file it will be used from.

use crate::delegates::protocol::{ArtifactLocation, DelegateError, InstanceSpec};
use crate::state::{ArtifactCache, download_limits};
use crate::tosca::instance::ArtifactInstance;

/// Points the spec's artifacts at a URL to their downloaded copies, where there are some (the
/// delegates and operations read files, never URLs).
pub fn use_downloads(cache: &ArtifactCache, spec: &mut InstanceSpec) {
    for artifact in spec.artifacts.values_mut() {
        if let ArtifactLocation::Url { url } = &artifact.location
            && let Some(path) = cache.cached(url)
        {
            artifact.location = ArtifactLocation::File {
                path: path.display().to_string(),
            };
        }
    }
}

/// Downloads the artifacts at a URL that are not in the cache yet and verifies every checksum,
/// naming `instance` and the artifact when one fails. Blocks: call it off the async threads.
pub fn make_ready(
    cache: &ArtifactCache,
    instance: &str,
    artifacts: &[(String, ArtifactInstance)],
) -> Result<(), DelegateError> {
    for (name, artifact) in artifacts {
        let failed = |e: &dyn std::fmt::Display| {
            DelegateError::Failed(format!("{instance}: artifact {name}: {e}"))
        };
        let mut local = artifact.clone();
        if let ArtifactLocation::Url { url } = &artifact.location {
            let path = cache
                .fetch(url, download_limits())
                .map_err(|e| failed(&e))?;
            local.location = ArtifactLocation::File {
                path: path.display().to_string(),
            };
        }
        local.verify_checksum().map_err(|e| failed(&e))?;
    }
    Ok(())
}
