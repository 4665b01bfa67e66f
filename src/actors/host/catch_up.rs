//! How a host learns from the store which services it has a part in: every
//! [`CATCH_UP_PERIOD`] it reads the services' plans, starts a Service actor for each service
//! that places instances here and has none, and tells a running one when its plan changed
//! because the service is being deleted or failed on another host. The store is the source
//! of truth; a host that was down or missed the news catches up the same way.

use std::collections::HashMap;
use std::time::Duration;

use ractor::ActorRef;

use crate::actors::RuntimeError;
use crate::actors::service::{ServiceMsg, ServiceStart};
use crate::state::Store;
use crate::state::records::{PlanRecord, ServicePhase};

use super::HostState;
use super::messages::HostMsg;

/// How often the plans are read.
pub const CATCH_UP_PERIOD: Duration = Duration::from_secs(2);

/// A service and its namespace.
pub type ServiceKey = (String, String);

/// A service with instances on this host, as its plan says now.
#[derive(Debug)]
pub struct News {
    /// Which service.
    pub key: ServiceKey,
    /// Its plan's version.
    pub version: u64,
    /// Its phase and message, read when the plan changed since this host last looked.
    pub changed: Option<(ServicePhase, Option<String>)>,
}

/// Whether `plan` gives `host` any instance.
pub fn places_on(plan: &PlanRecord, host: &str) -> bool {
    plan.placements.values().any(|on| on == host)
}

/// The other hosts `plan` gives instances to.
pub fn elsewhere<'a>(plan: &'a PlanRecord, host: &str) -> Vec<&'a str> {
    let mut hosts: Vec<&str> = plan
        .placements
        .values()
        .map(String::as_str)
        .filter(|on| *on != host)
        .collect();
    hosts.sort_unstable();
    hosts.dedup();
    hosts
}

/// The services with instances on `host`; the phase of those whose plan is not at the version
/// in `seen`.
pub fn read_news(
    store: &Store,
    host: &str,
    seen: &HashMap<ServiceKey, u64>,
) -> Result<Vec<News>, RuntimeError> {
    let mut news = Vec::new();
    for (key, plan) in store.plans()? {
        if !places_on(&plan, host) {
            continue;
        }
        let changed = match seen.get(&key) {
            Some(&version) if version == plan.version => None,
            _ => store
                .service_record(&key.0, &key.1)?
                .map(|record| (record.phase, record.message)),
        };
        news.push(News {
            key,
            version: plan.version,
            changed,
        });
    }
    Ok(news)
}

impl HostState {
    /// Acts on what the plans say: a Service actor for each service with a part here, and
    /// the news of a delete or a failure elsewhere for those that run.
    pub(super) async fn catch_up(&mut self, myself: &ActorRef<HostMsg>, news: Vec<News>) {
        let current: HashMap<ServiceKey, u64> =
            news.iter().map(|n| (n.key.clone(), n.version)).collect();
        for News { key, changed, .. } in news {
            let (namespace, name) = &key;
            let Some(actor) = self.services.get(&key) else {
                tracing::info!(service = %name, "a service has instances here; starting them");
                if let Err(error) = self
                    .spawn_service(myself, namespace, name, ServiceStart::Resume)
                    .await
                {
                    tracing::warn!(service = %name, %error, "could not start its part here");
                }
                continue;
            };
            let message = match changed {
                Some((ServicePhase::Deleting, _)) => ServiceMsg::Delete,
                Some((ServicePhase::Failed, message)) => {
                    ServiceMsg::FailedElsewhere(message.unwrap_or_else(|| "it failed".into()))
                }
                _ => continue,
            };
            if actor.cast(message).is_err() {
                tracing::debug!(service = %name, "its actor stopped before the news");
            }
        }
        self.seen_plans = current;
    }
}
