//! Failover, run beside the Host every few seconds: when a host has failed (see
//! [`Liveness`]) and this host leads, the instances the plans give the failed host move to
//! live hosts, service by service, through the LockManager with the plan's version check. The
//! new owners are nudged to start them at once (else they do at their next read of the plans).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::actors::membership::MemberView;
use crate::actors::scheduler::failover::moves;
use crate::actors::{Context, RuntimeError};
use crate::throttle::LogLimit;

use super::cluster::{candidates, liveness};

/// Paces the warnings about instances that cannot be moved (tried again every few seconds).
pub type Warnings = Arc<Mutex<LogLimit>>;

/// How often such a warning may be logged.
const WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// A pacer for [`Warnings`].
pub fn warnings() -> Warnings {
    Arc::new(Mutex::new(LogLimit::new(WARNING_INTERVAL)))
}

/// Moves the failed hosts' instances, if any host failed and this host leads.
pub async fn run(context: &Context, views: Vec<MemberView>, warnings: &Warnings) {
    let store = context.store.clone();
    let me = context.host.clone();
    let decided = context
        .store
        .spawn_blocking(move || {
            let liveness = liveness(&store, &me, &views)?;
            let leaving = liveness.leaving();
            if leaving.is_empty() || !liveness.leads(&me) {
                return Ok::<_, RuntimeError>(Vec::new());
            }
            let eligible = candidates(&store, |record| liveness.eligible(&record.name))?;
            let mut planned = Vec::new();
            for ((namespace, name), plan) in store.plans()? {
                if !plan.placements.values().any(|h| leaving.contains_key(h)) {
                    continue;
                }
                let Some(view) = store.load_service(&namespace, &name)? else {
                    continue;
                };
                let moved = moves(&view, &leaving, &eligible);
                planned.push((namespace, name, plan.version, moved));
            }
            Ok(planned)
        })
        .await;
    let planned = match decided {
        Ok(Ok(planned)) => planned,
        Ok(Err(error)) => return warn(warnings, &format!("could not judge failed hosts: {error}")),
        Err(error) => return warn(warnings, &format!("judging failed hosts crashed: {error}")),
    };
    for (namespace, name, version, moved) in planned {
        let moved = match moved {
            Ok(moved) if moved.is_empty() => continue,
            Ok(moved) => moved,
            Err(error) => {
                warn(
                    warnings,
                    &format!("cannot move the instances of {namespace}/{name}: {error}"),
                );
                continue;
            }
        };
        let ids: Vec<String> = moved
            .iter()
            .map(|m| format!("{} → {}", m.id, m.host))
            .collect();
        let owners: Vec<String> = moved.iter().map(|m| m.host.clone()).collect();
        let lock_manager = &context.lock_manager;
        match lock_manager
            .move_instances(&namespace, &name, version, moved)
            .await
        {
            Ok(()) => {
                tracing::warn!(service = %name, moved = %ids.join(", "), "moved instances off a failed or drained host");
                crate::actors::peer::nudge(owners.iter().map(String::as_str));
            }
            // Another host moved them first, or the plan changed: the next round sees it.
            Err(error) => tracing::info!(service = %name, %error, "the move was not made"),
        }
    }
}

fn warn(warnings: &Warnings, message: &str) {
    let allowed = warnings.lock().map(|mut limit| limit.allow(Instant::now()));
    if let Ok(Some(left_out)) = allowed {
        tracing::warn!(left_out, "{message}");
    }
}
