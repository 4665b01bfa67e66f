//! Making sure a container's image is in Podman: a reference is used as it is when the image
//! is present and pulled only when missing; an image archive artifact is loaded.

use futures_util::StreamExt;
use podman_api::Podman;
use podman_api::opts::PullOpts;
use tracing::info;

use super::connection::failed;
use super::plan::ImageSource;
use crate::delegates::protocol::DelegateError;

/// The image to create the container from (a name or id Podman has), once it is there.
pub async fn ensure(
    podman: &Podman,
    instance: &str,
    source: &ImageSource,
) -> Result<String, DelegateError> {
    match source {
        ImageSource::Reference(reference) => {
            let present = podman
                .images()
                .get(reference.as_str())
                .exists()
                .await
                .map_err(|e| failed(format!("look for image {reference}"), e))?;
            if !present {
                pull(podman, instance, reference).await?;
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
            let report = podman
                .images()
                .load(&archive)
                .await
                .map_err(|e| failed(&action, e))?;
            report
                .names
                .unwrap_or_default()
                .into_iter()
                .next()
                .ok_or_else(|| {
                    DelegateError::Failed(format!("could not {action}: it holds no image"))
                })
        }
    }
}

/// Pulls `reference`; a failure is one sentence naming it.
async fn pull(podman: &Podman, instance: &str, reference: &str) -> Result<(), DelegateError> {
    info!(%instance, %reference, "pulling the image, which is not here");
    let action = format!("pull image {reference} for {instance}");
    let images = podman.images();
    let opts = PullOpts::builder().reference(reference).quiet(true).build();
    let mut reports = images.pull(&opts);
    let mut pulled = false;
    while let Some(report) = reports.next().await {
        let report = report.map_err(|e| failed(&action, e))?;
        if let Some(error) = report.error.filter(|e| !e.is_empty()) {
            return Err(DelegateError::Failed(format!(
                "could not {action}: {}",
                error.trim()
            )));
        }
        pulled |= report.id.is_some() || report.images.is_some_and(|i| !i.is_empty());
    }
    if pulled {
        Ok(())
    } else {
        Err(DelegateError::Failed(format!(
            "could not {action}: Podman reported no image"
        )))
    }
}
