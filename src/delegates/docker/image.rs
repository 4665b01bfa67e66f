//! Making sure a container's image is in the engine: a reference is used as it is when the
//! image is present and pulled only when missing; an image archive artifact is loaded.

use bollard::Docker;
use bollard::query_parameters::{CreateImageOptionsBuilder, ImportImageOptionsBuilder};
use futures_util::StreamExt;
use tracing::info;

use super::connection::{failed, is_not_found};
use crate::delegates::podman::ImageSource;
use crate::delegates::protocol::DelegateError;

/// The image to create the container from (a name or id the engine has), once it is there.
pub async fn ensure(
    docker: &Docker,
    instance: &str,
    source: &ImageSource,
) -> Result<String, DelegateError> {
    match source {
        ImageSource::Reference(reference) => {
            match docker.inspect_image(reference).await {
                Ok(_) => {}
                Err(error) if is_not_found(&error) => pull(docker, instance, reference).await?,
                Err(error) => return Err(failed(format!("look for image {reference}"), error)),
            }
            Ok(reference.clone())
        }
        ImageSource::Archive { artifact, location } => {
            let action =
                format!("load the image archive {location} (artifact {artifact:?} of {instance})");
            let reading = location.clone();
            let archive = tokio::task::spawn_blocking(move || reading.read())
                .await
                .map_err(|e| DelegateError::Failed(format!("could not {action}: {e}")))?
                .map_err(|e| DelegateError::Failed(format!("could not {action}: {e}")))?;
            let options = ImportImageOptionsBuilder::default().quiet(true).build();
            let body = bollard::body_full(bytes::Bytes::from(archive));
            let mut reports = docker.import_image(options, body, None);
            let mut loaded = None;
            while let Some(report) = reports.next().await {
                let report = report.map_err(|e| failed(&action, e))?;
                loaded = loaded.or(report.stream.as_deref().and_then(loaded_image));
            }
            loaded.ok_or_else(|| {
                DelegateError::Failed(format!("could not {action}: it holds no image"))
            })
        }
    }
}

/// The image a line of the engine's load report names (`Loaded image: NAME` or `Loaded image
/// ID: sha256:…`).
fn loaded_image(line: &str) -> Option<String> {
    line.lines().find_map(|line| {
        let image = line
            .trim()
            .strip_prefix("Loaded image ID: ")
            .or_else(|| line.trim().strip_prefix("Loaded image: "))?;
        let image = image.split(',').next()?.trim();
        (!image.is_empty()).then(|| image.to_owned())
    })
}

/// Pulls `reference`; a failure is one sentence naming it.
async fn pull(docker: &Docker, instance: &str, reference: &str) -> Result<(), DelegateError> {
    info!(%instance, %reference, "pulling the image, which is not here");
    let action = format!("pull image {reference} for {instance}");
    let options = CreateImageOptionsBuilder::default()
        .from_image(reference)
        .build();
    let mut reports = docker.create_image(Some(options), None, None);
    while let Some(report) = reports.next().await {
        let report = report.map_err(|e| failed(&action, e))?;
        if let Some(error) = report.error_detail.and_then(|d| d.message) {
            return Err(DelegateError::Failed(format!(
                "could not {action}: {}",
                error.trim()
            )));
        }
    }
    match docker.inspect_image(reference).await {
        Ok(_) => Ok(()),
        Err(error) => Err(failed(&action, error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_load_report_names_the_image() {
        assert_eq!(
            loaded_image("Loaded image: localhost/web:1\n").as_deref(),
            Some("localhost/web:1")
        );
        assert_eq!(
            loaded_image("Loaded image ID: sha256:abc\n").as_deref(),
            Some("sha256:abc")
        );
        assert_eq!(
            loaded_image("Loaded image: a:1, b:2").as_deref(),
            Some("a:1")
        );
        assert_eq!(loaded_image("Loading layer 1/2"), None);
    }
}
