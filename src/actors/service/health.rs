//! The Service actor's side of health checks: a [`Tracker`] per running instance whose node
//! declares checks, tries run beside the actor when due, and a record written through the
//! LockManager when an instance's health changes. The decisions (thresholds, what unhealthy
//! means for the deploy and for restarts) are pure: the tracker and the reconciler.

use std::time::Duration;

use ractor::ActorRef;

use super::super::health::{Change, Probe, Tracker, try_once};
use super::super::lock_manager::InstanceUpdate;
use super::super::node_instance;
use super::{ServiceMsg, ServiceState};
use crate::delegates::protocol::ExecSource;
use crate::state::records::{Health, InstanceState};

/// The health trackers of a service's instances on this host.
#[derive(Default)]
pub struct Checks {
    /// By instance position: its tracker while it runs and has checks.
    trackers: Vec<Option<Tracker>>,
    /// By instance position: raised whenever its tracker is made or dropped, so a try begun
    /// for an earlier run is told apart.
    runs: Vec<u64>,
}

impl Checks {
    /// No trackers yet for `instances` instances.
    pub fn new(instances: usize) -> Checks {
        Checks {
            trackers: vec![None; instances],
            runs: vec![0; instances],
        }
    }

    /// Stops tracking instance `index` (it is being stopped, removed or made again).
    pub fn forget(&mut self, index: usize) {
        if self.trackers[index].take().is_some() {
            self.runs[index] += 1;
        }
    }

    /// When the next try is due, if any tracker has one.
    pub fn next_due(&self) -> Option<Duration> {
        self.trackers
            .iter()
            .flatten()
            .filter_map(Tracker::next_due)
            .min()
    }
}

impl ServiceState {
    /// Tracks instance `index` from now if it runs, has checks and is not tracked yet; stops
    /// tracking it if it no longer runs.
    pub(super) fn track(&mut self, index: usize) {
        let view = self.view_of(index);
        let record = &view.instances[self.records[index]];
        if record.state != InstanceState::Running {
            self.checks.forget(index);
            return;
        }
        if self.checks.trackers[index].is_some() {
            return;
        }
        let (checks, restarts) = match node_instance::health_checks(&view, &record.id) {
            Ok(found) => found,
            Err(error) => {
                tracing::warn!(instance = %record.id, %error, "its health checks cannot be read");
                return;
            }
        };
        if checks.is_empty() {
            return;
        }
        let health = record.health.unwrap_or(Health::Unknown);
        self.observed.instances[index].restarts_unhealthy = restarts;
        self.checks.trackers[index] = Some(Tracker::new(checks, self.now(), health));
        self.checks.runs[index] += 1;
    }

    /// Begins the tries that are due, beside the actor; each reports as [`ServiceMsg::Tried`].
    pub(super) fn try_due_checks(&mut self, myself: &ActorRef<ServiceMsg>) {
        let now = self.now();
        for index in 0..self.checks.trackers.len() {
            let Some(tracker) = self.checks.trackers[index].as_mut() else {
                continue;
            };
            let run = self.checks.runs[index];
            for (check, definition) in tracker.due(now) {
                let probe = Probe::of(&definition);
                let timeout = definition.timeout.0;
                let command = matches!(probe, Ok(Probe::Command(_)));
                let (context, view) = (self.args.context.clone(), self.view());
                let id = self.observed.instances[index].id.clone();
                let myself = myself.clone();
                tokio::spawn(async move {
                    let exec = match command {
                        true => node_instance::exec_source(&context, &view, &id).await,
                        false => Ok(ExecSource::None),
                    };
                    let outcome = match (probe, exec) {
                        (Ok(probe), Ok(exec)) => try_once(probe, timeout, exec).await,
                        (Err(why), _) => Err(why),
                        (_, Err(error)) => Err(error.to_string()),
                    };
                    let tried = ServiceMsg::Tried {
                        index,
                        run,
                        check,
                        outcome,
                    };
                    let _ = myself.cast(tried);
                });
            }
        }
    }

    /// Takes in how a try ended; records the instance's health when it changed.
    pub(super) fn tried(
        &mut self,
        myself: &ActorRef<ServiceMsg>,
        index: usize,
        run: u64,
        check: usize,
        outcome: Result<(), String>,
    ) {
        if self.checks.runs.get(index) != Some(&run) {
            return;
        }
        let now = self.now();
        let Some(tracker) = self.checks.trackers[index].as_mut() else {
            return;
        };
        if let Some(change) = tracker.tried(check, outcome, now) {
            self.record_health(myself, index, change);
        }
    }

    /// Writes the instance's new health (and why) through the LockManager, beside the actor;
    /// the record comes back as [`ServiceMsg::Wrote`].
    fn record_health(&mut self, myself: &ActorRef<ServiceMsg>, index: usize, change: Change) {
        let id = self.observed.instances[index].id.clone();
        match change.health {
            Health::Unhealthy => {
                let reason = change.reason.as_deref().unwrap_or_default();
                tracing::warn!(service = %self.args.name, instance = %id, %reason, "unhealthy");
            }
            health => {
                tracing::info!(service = %self.args.name, instance = %id, health = health.name(), "health")
            }
        }
        let update = InstanceUpdate {
            health: Some(Some(change.health)),
            message: Some(change.reason),
            ..InstanceUpdate::default()
        };
        let (context, namespace, name) = self.names();
        let myself = myself.clone();
        tokio::spawn(async move {
            let lock_manager = &context.lock_manager;
            match lock_manager
                .update_instance(&namespace, &name, &id, update)
                .await
            {
                Ok(record) => {
                    let record = Box::new(record);
                    let _ = myself.cast(ServiceMsg::Wrote { index, record });
                }
                Err(error) => {
                    tracing::warn!(instance = %id, %error, "could not record its health")
                }
            }
        });
    }
}
