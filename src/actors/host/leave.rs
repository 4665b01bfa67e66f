//! `khutulun host leave`: this host leaves the cluster cleanly. It is drained (the leading
//! host moves its instances elsewhere and this host removes its copies); once nothing of any
//! service is placed or left here, its records go from the store and its agent stops.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::actors::{Context, RuntimeError};
use crate::control::RuntimePaths;
use crate::control::protocol::Response;

/// How long the instances may take to move off (within the CLI's wait for an answer).
pub const LEAVE_PATIENCE: Duration = Duration::from_secs(100);

/// How often the store and the private directory are looked at meanwhile.
const LOOK_EVERY: Duration = Duration::from_millis(500);

/// The instances with a private directory on this host (`instances/<ns>/<service>/<id>`).
fn instances_here(runtime: &RuntimePaths) -> usize {
    let fs = runtime.filesystem();
    let entries = |dir: &Path| -> Vec<std::path::PathBuf> {
        let names = fs.list(dir).unwrap_or_default();
        names.into_iter().map(|name| dir.join(name)).collect()
    };
    let dir = runtime.dir().join("instances");
    let dir = dir.as_path();
    entries(dir)
        .iter()
        .flat_map(|namespace| entries(namespace))
        .map(|service| entries(&service).len())
        .sum()
}

/// Drains this host, waits until it runs nothing, forgets it, and has the agent stop.
pub async fn leave(context: Context, shutdown: Arc<Notify>) -> Result<Response, RuntimeError> {
    let host = context.host.clone();
    context.lock_manager.set_drained(&host, true).await?;
    tracing::info!("leaving the cluster: moving this host's instances elsewhere");
    let began = Instant::now();
    loop {
        let placed = context.store.placed_per_host()?;
        let placed = placed.get(&host).copied().unwrap_or(0);
        let left = instances_here(&context.runtime);
        if placed == 0 && left == 0 {
            break;
        }
        if began.elapsed() > LEAVE_PATIENCE {
            return Err(RuntimeError::Invalid(format!(
                "{placed} instance(s) are still placed on {host} and {left} still run here after {} s \
                 (can another host take them? see `service status`); {host} stays drained: \
                 `host leave` again to wait longer, `host undrain {host}` to keep it",
                LEAVE_PATIENCE.as_secs()
            )));
        }
        tokio::time::sleep(LOOK_EVERY).await;
    }
    context.lock_manager.remove_host(&host).await?;
    tracing::info!("left the cluster; the agent stops");
    tokio::spawn(async move {
        // After the answer has gone out.
        tokio::time::sleep(Duration::from_millis(300)).await;
        shutdown.notify_one();
    });
    Ok(Response::Left)
}
