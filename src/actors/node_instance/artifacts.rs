//! The node's artifacts made ready before its instance is made: those at a URL downloaded
//! into the store's cache (once for every instance and host), each with a `checksum`
//! verified against the file it will be used from, and the copies the node asks for written.

use std::path::Path;

use crate::delegates::protocol::{ArtifactLocation, DelegateError, InstanceSpec};
use crate::state::{ArtifactCache, download_limits};
use crate::tosca::instance::{ArtifactCopy, ArtifactInstance};

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

/// Writes the copies of its artifacts the node asks for (`$get_artifact` with a location),
/// each whole or not at all (written beside, then renamed into place), making the directories
/// they go in. Blocks: call it off the async threads, after [`make_ready`] and
/// [`use_downloads`] (a downloaded artifact is copied from the cache).
pub fn copy(spec: &InstanceSpec, copies: &[ArtifactCopy]) -> Result<(), DelegateError> {
    for copy in copies {
        let failed = |e: &dyn std::fmt::Display| {
            DelegateError::Failed(format!(
                "{}: the copy of artifact {} to {}: {e}",
                spec.qualified_name(),
                copy.artifact,
                copy.destination
            ))
        };
        let artifact = spec
            .artifacts
            .get(&copy.artifact)
            .ok_or_else(|| failed(&"the node has no such artifact"))?;
        let destination = Path::new(&copy.destination);
        let (Some(directory), Some(name)) = (destination.parent(), destination.file_name()) else {
            return Err(failed(&"it is not the path of a file"));
        };
        std::fs::create_dir_all(directory).map_err(|e| failed(&e))?;
        let beside = directory.join(format!(".{}.khutulun-copy", name.to_string_lossy()));
        let written = match artifact.location.local_path() {
            Some(source) => std::fs::copy(source, &beside).map(|_| ()),
            None => {
                let content = artifact.location.read().map_err(|e| failed(&e))?;
                std::fs::write(&beside, content)
            }
        };
        written
            .and_then(|()| std::fs::rename(&beside, destination))
            .map_err(|e| {
                let _ = std::fs::remove_file(&beside);
                failed(&e)
            })?;
    }
    Ok(())
}

/// Removes the copies asked to go with the instance (`remove: true`); one already gone is
/// fine, and one that cannot be removed is logged, never in the way of the delete.
pub fn remove_copies(instance: &str, copies: &[ArtifactCopy]) {
    for copy in copies.iter().filter(|copy| copy.remove) {
        match std::fs::remove_file(&copy.destination) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                tracing::warn!(%instance, destination = %copy.destination, %error, "could not remove an artifact's copy");
            }
        }
    }
}
