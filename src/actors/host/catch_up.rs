//! How a host learns from the store which services it has a part in: every
//! [`CATCH_UP_PERIOD`] it reads the services' plans, starts a Service actor for each service
//! that places instances here and has none, restarts one whose part changed (a failover moved
//! instances to or from this host), removes what is left here of instances that now run
//! elsewhere, and tells a running one when the service changed: it is being deleted, it failed
//! on another host, or its update began, turned back or ended there. The store is the source
//! of truth; a host that was down or cut off catches up the same way (on its first read, what
//! it ran before is what its private directory holds).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use ractor::ActorRef;

use crate::actors::RuntimeError;
use crate::actors::node_instance::remove_leftover;
use crate::actors::service::{ServiceMsg, ServiceStart};
use crate::control::paths::RuntimePaths;
use crate::state::Store;
use crate::state::records::{PlanRecord, ServicePhase, ServiceRecord};

use super::HostState;
use super::messages::HostMsg;

/// How often the plans are read (and this host's lease renewed).
pub const CATCH_UP_PERIOD: Duration = Duration::from_secs(2);

/// A service and its namespace.
pub type ServiceKey = (String, String);

/// What this host last saw of a service it has (or had) a part in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// The plan's version.
    pub version: u64,
    /// The instances the plan placed here.
    pub mine: BTreeSet<String>,
}

impl Seen {
    /// What `plan` says of `host`'s part.
    pub fn of(plan: &PlanRecord, host: &str) -> Seen {
        Seen {
            version: plan.version,
            mine: (plan.placements.iter())
                .filter(|(_, on)| *on == host)
                .map(|(id, _)| id.clone())
                .collect(),
        }
    }
}

/// A service this host has or had a part in, as its plan says now.
#[derive(Debug)]
pub struct News {
    /// Which service.
    pub key: ServiceKey,
    /// What the plan says now.
    pub now: Seen,
    /// Whether this host's part changed since it last looked.
    pub part_changed: bool,
    /// Instances that ran here and now run on another host: their leftovers go.
    pub moved_away: Vec<String>,
    /// Its record and plan, read when the plan changed since this host last looked.
    pub changed: Option<(Box<ServiceRecord>, PlanRecord)>,
}

/// Whether `plan` gives `host` any instance.
pub fn places_on(plan: &PlanRecord, host: &str) -> bool {
    plan.placements.values().any(|on| on == host)
}

/// The instances of a service whose private directories are on this host.
fn on_disk(runtime: &RuntimePaths, key: &ServiceKey) -> BTreeSet<String> {
    let dir = runtime.service_dir(&key.0, &key.1);
    let names = runtime.filesystem().list(&dir).unwrap_or_default();
    names.into_iter().collect()
}

/// The services this host has or had a part in. `seen` is what it saw last; on the first
/// read (`seen` is `None`) what it had is what its private directory holds.
pub fn read_news(
    store: &Store,
    host: &str,
    runtime: &RuntimePaths,
    seen: Option<&HashMap<ServiceKey, Seen>>,
) -> Result<Vec<News>, RuntimeError> {
    let mut news = Vec::new();
    for (key, plan) in store.plans()? {
        let now = Seen::of(&plan, host);
        let before = match seen {
            Some(seen) => seen.get(&key).cloned(),
            None => Some(Seen {
                version: 0,
                mine: on_disk(runtime, &key),
            })
            .filter(|had| !had.mine.is_empty()),
        };
        if now.mine.is_empty() && before.is_none() {
            continue;
        }
        let before = before.unwrap_or_default();
        let placed_elsewhere = |id: &&String| plan.placements.get(*id).is_some_and(|on| on != host);
        let moved_away = before
            .mine
            .iter()
            .filter(placed_elsewhere)
            .cloned()
            .collect();
        let changed = match before.version == plan.version {
            true => None,
            false => (store.service_record(&key.0, &key.1)?)
                .map(|record| (Box::new(record), plan.clone())),
        };
        news.push(News {
            key,
            part_changed: before.mine != now.mine,
            now,
            moved_away,
            changed,
        });
    }
    Ok(news)
}

impl HostState {
    /// Acts on what the plans say (see the module).
    pub(super) async fn catch_up(&mut self, myself: &ActorRef<HostMsg>, news: Vec<News>) {
        let mut seen = HashMap::new();
        for news in news {
            let (namespace, name) = news.key.clone();
            if !news.moved_away.is_empty() {
                self.remove_leftovers(&news.key, news.moved_away.clone());
            }
            let actor = self.services.get(&news.key).cloned();
            if news.now.mine.is_empty() {
                // Nothing of it here any more.
                if let Some(actor) = actor {
                    actor.stop(Some("its instances run elsewhere now".into()));
                }
                continue;
            }
            seen.insert(news.key.clone(), news.now.clone());
            let Some(actor) = actor else {
                tracing::info!(service = %name, "a service has instances here; starting them");
                if let Err(error) = self
                    .spawn_service(myself, &namespace, &name, ServiceStart::Resume)
                    .await
                {
                    tracing::warn!(service = %name, %error, "could not start its part here");
                }
                continue;
            };
            // A deploy here may have recorded this part after the plans were read.
            let known = self
                .seen_plans
                .as_ref()
                .and_then(|seen| seen.get(&news.key));
            let part_changed = news.part_changed && known.is_none_or(|k| k.mine != news.now.mine);
            if part_changed {
                // Its Service actor knows the instances it started with: a new one takes the
                // new part (adopting what runs) once this one stopped.
                tracing::info!(service = %name, "this host's part changed; starting it again");
                self.restarting.insert(news.key.clone());
                actor.stop(Some("its part changed".into()));
                continue;
            }
            let message = match news.changed {
                Some((record, _)) if record.phase == ServicePhase::Deleting => ServiceMsg::Delete,
                Some((record, _)) if record.phase == ServicePhase::Failed => {
                    let message = record.message.unwrap_or_else(|| "it failed".into());
                    ServiceMsg::FailedElsewhere(message)
                }
                Some((service, plan)) => ServiceMsg::Changed { service, plan },
                None => continue,
            };
            if actor.cast(message).is_err() {
                tracing::debug!(service = %name, "its actor stopped before the news");
            }
        }
        self.seen_plans = Some(seen);
    }

    /// Removes, beside the Host, what is left here of instances that run elsewhere now.
    fn remove_leftovers(&self, key: &ServiceKey, ids: Vec<String>) {
        let context = self.context.clone();
        let (namespace, name) = key.clone();
        tokio::spawn(async move {
            let store = context.store.clone();
            let (ns, service) = (namespace.clone(), name.clone());
            let view = store
                .clone()
                .spawn_blocking(move || store.load_service(&ns, &service))
                .await;
            let Ok(Ok(Some(view))) = view else {
                tracing::warn!(service = %name, "cannot read the service to remove its leftovers");
                return;
            };
            for id in ids {
                tracing::info!(service = %name, instance = %id, "it runs elsewhere now; removing what is left here");
                if let Err(error) = remove_leftover(&context, &view, &id).await {
                    tracing::warn!(service = %name, instance = %id, %error, "could not remove a leftover");
                }
            }
        });
    }
}
