//! The Service actor's side of `service update`: which instances an update makes again
//! (their workload was made from another definition than the service's now) and which it
//! removes, the service as each instance's workload was made (the steps that remove one need
//! it), the update's writes (turning back after a failure; this host's part done, which ends
//! the update when it is the last host's), and an update begun, turned back or ended by another
//! host. The decisions (order, parallelism, when to roll back or end) are the reconciler's.

use std::sync::Arc;

use ractor::ActorRef;

use super::reconcile::{Observed, Updating};
use super::{ServiceMsg, ServiceState, Write, spawn_write};
use crate::state::ServiceView;
use crate::state::records::{InstanceRecord, PlanRecord, ServiceRecord, UpdateRecord};
use crate::tosca::instance::Instantiation;
use crate::tosca::instance::NodeInstance;
use crate::tosca::instance::diff::{differing_fields, digest};

/// For each instance of `records`, the digest of the definition its workload was made from:
/// as recorded, else (made before digests were recorded) that of its node in `before`, the
/// instantiation an update under way changes. Without an update nothing is hashed: only an
/// update compares definitions.
pub(super) fn made_from(
    records: &[&InstanceRecord],
    before: Option<&Instantiation>,
) -> Vec<Option<String>> {
    let nodes: std::collections::HashMap<&str, &NodeInstance> = (before.iter())
        .flat_map(|b| b.nodes.iter())
        .map(|node| (node.id.as_str(), node))
        .collect();
    let of = |record: &&InstanceRecord| {
        let node = nodes.get(record.id.as_str());
        record.made_from.clone().or_else(|| node.map(|n| digest(n)))
    };
    records.iter().map(of).collect()
}

/// Marks the update under way on `observed`: an instance is outdated when it was made
/// (`made_from`) from another definition than its node's in `service`, retired when
/// `service` has no such node. An instance that takes new wiring in place (a load balancer)
/// is not outdated when only its relationships changed: its next check rewires it.
pub(super) fn mark(
    observed: &mut Observed,
    service: &ServiceRecord,
    ids: &[String],
    made_from: &[Option<String>],
    update: &UpdateRecord,
) {
    let before: std::collections::HashMap<&str, &NodeInstance> = (update.previous.nodes.iter())
        .map(|n| (n.id.as_str(), n))
        .collect();
    let rewired = |node: &NodeInstance| {
        let before = before.get(node.id.as_str());
        before.is_some_and(|b| differing_fields(b, node) == ["relationships"])
    };
    let rewires: Vec<bool> = observed.instances.iter().map(|i| i.rewires).collect();
    let wanted: std::collections::HashMap<&str, (String, bool)> =
        (service.instantiation.nodes.iter())
            .map(|node| (node.id.as_str(), (digest(node), rewired(node))))
            .collect();
    let pending: Vec<bool> = (observed.instances.iter())
        .map(|i| i.state == crate::state::records::InstanceState::Pending)
        .collect();
    let updating = Updating {
        max_parallel: update.max_parallel as usize,
        rolling_back: update.rolling_back.clone(),
    };
    observed.set_update(updating, |index| match wanted.get(ids[index].as_str()) {
        None => (false, true),
        Some((_, true)) if rewires[index] => (false, false),
        Some((digest, _)) => (
            !pending[index] && made_from[index].as_ref() != Some(digest),
            false,
        ),
    });
}

impl ServiceState {
    /// The service as instance `index`'s workload was made: as it was before the update for
    /// an instance the update makes again or removes, else as it is.
    pub(super) fn view_of(&mut self, index: usize) -> Arc<ServiceView> {
        let instance = &self.observed.instances[index];
        if (instance.outdated || instance.retired)
            && let Some(before) = self.view_before()
        {
            return before;
        }
        self.view()
    }

    /// The service as it was before the update under way.
    pub(super) fn view_before(&mut self) -> Option<Arc<ServiceView>> {
        if self.before.is_none() {
            let previous = self.view.service.update.as_ref()?.previous.clone();
            let mut view = self.view.clone();
            let service = ServiceRecord {
                instantiation: previous,
                ..ServiceRecord::clone(&self.view.service)
            };
            view.service = Arc::new(service);
            self.before = Some(Arc::new(view));
        }
        self.before.clone()
    }

    /// Marks what the update under way does to each instance (when one is).
    pub(super) fn mark_update(&mut self) {
        let Some(update) = self.view.service.update.clone() else {
            return;
        };
        let ids: Vec<String> = self
            .observed
            .instances
            .iter()
            .map(|i| i.id.clone())
            .collect();
        mark(
            &mut self.observed,
            &self.view.service,
            &ids,
            &self.made_from,
            &update,
        );
    }

    /// Takes an update that adds no instance in place: the same instances, from the new
    /// definitions (those it removes stay until they are gone). The records are what the
    /// Host wrote; nothing is read back.
    pub(super) fn take_update(&mut self, service: ServiceRecord, plan: PlanRecord) {
        self.view.service = Arc::new(service);
        self.view.plan = Arc::new(plan);
        let previous = self.view.service.update.as_ref().map(|u| &u.previous);
        let mine: Vec<&InstanceRecord> = (self.records.iter())
            .map(|&p| &*self.view.instances[p])
            .collect();
        self.made_from = made_from(&mine, previous);
        let (instances, records) = super::instances_on(&self.view, &self.args.context.host);
        debug_assert_eq!(
            records, self.records,
            "an update in place keeps the instances"
        );
        for (instance, fresh) in self.observed.instances.iter_mut().zip(instances) {
            instance.requires = fresh.requires;
            instance.rewires = fresh.rewires;
        }
        self.dependents = super::dependents(&self.observed.instances);
        let host = &self.args.context.host;
        self.remote = super::remote::required_elsewhere(&self.view, host, &self.records);
        self.changed();
        self.mark_update();
        self.refresh_wiring();
    }

    /// The update failed for `reason`: the service goes back to what it ran before (the
    /// instantiations swap, so what the failed update made is removed or made again as it
    /// was), recorded before anything more is done; its other hosts turn back on that record.
    pub(super) fn roll_back(&mut self, myself: &ActorRef<ServiceMsg>, reason: String) {
        tracing::warn!(service = %self.args.name, %reason, "the update failed; rolling it back");
        let service = Arc::make_mut(&mut self.view.service);
        let Some(update) = service.update.as_mut() else {
            return;
        };
        std::mem::swap(&mut service.instantiation, &mut update.previous);
        update.rolling_back = Some(reason);
        update.done.clear();
        let (instantiation, update) = (service.instantiation.clone(), update.clone());
        self.failures.clear();
        self.before = None;
        self.changed();
        self.mark_update();
        let (context, namespace, name) = self.names();
        let others = self.other_hosts();
        spawn_write(myself, Write::Update { over: false }, async move {
            let lock_manager = &context.lock_manager;
            let written = lock_manager.roll_back_update(&namespace, &name, instantiation, update);
            written.await?;
            crate::actors::peer::nudge(others.iter().map(String::as_str));
            Ok(())
        });
    }

    /// The other hosts of the service's plan.
    fn other_hosts(&self) -> Vec<String> {
        let host = &self.args.context.host;
        let elsewhere = self.view.plan.other_hosts(host);
        elsewhere.into_iter().map(str::to_owned).collect()
    }

    /// Every instance here is made from the service's definition and the removed ones are
    /// gone: records this host's part of the update's stage done. The last host to do so ends
    /// the update (with why it failed, when it was rolled back); the others learn the end from
    /// the store.
    pub(super) fn finish_update(&mut self, myself: &ActorRef<ServiceMsg>) {
        let update = self.view.service.update.as_ref();
        let rolling_back = update.and_then(|u| u.rolling_back.clone());
        let message = (rolling_back.as_ref())
            .map(|why| format!("the update failed and was rolled back: {why}"));
        let (context, namespace, name) = self.names();
        let (record, myself, others) = (message.clone(), myself.clone(), self.other_hosts());
        tokio::spawn(async move {
            let host = &context.host;
            let lock_manager = &context.lock_manager;
            let done =
                lock_manager.finish_update_part(&namespace, &name, host, rolling_back, record);
            let done = done.await.map_err(|error| error.to_string());
            if done == Ok(true) {
                crate::actors::peer::nudge(others.iter().map(String::as_str));
            }
            let _ = myself.cast(ServiceMsg::PartFinished(done));
        });
        self.ended_message = message;
    }

    /// This host's part of the update was recorded done: the update is over (`Ok(true)`),
    /// or the other hosts' parts are still under way (their end, or a rollback, comes as
    /// news from the store).
    pub(super) fn part_finished(
        &mut self,
        myself: &ActorRef<ServiceMsg>,
        done: Result<bool, String>,
    ) {
        match done {
            Ok(true) => self.update_recorded(myself, true, None),
            Ok(false) => {
                self.observed.recording = false;
                self.observed.part_done = true;
                self.read_news_again(myself);
            }
            Err(error) => self.update_recorded(myself, true, Some(error)),
        }
    }

    /// When the store's record changed while this actor's update write was under way, reads
    /// it again now, beside the actor, and takes it as news.
    pub(super) fn read_news_again(&mut self, myself: &ActorRef<ServiceMsg>) {
        if !std::mem::take(&mut self.news_while_recording) {
            return;
        }
        let (context, namespace, name) = self.names();
        let myself = myself.clone();
        tokio::spawn(async move {
            let store = context.store.clone();
            let read = store.clone().spawn_blocking(move || {
                let service = store.service_record(&namespace, &name)?;
                let plan = store.plan(&namespace, &name)?;
                Ok::<_, crate::state::StoreError>(service.map(|service| (service, plan)))
            });
            match read.await {
                Ok(Ok(Some((service, plan)))) => {
                    let service = Box::new(service);
                    let _ = myself.cast(ServiceMsg::Changed { service, plan });
                }
                Ok(Ok(None)) => {}
                Ok(Err(error)) => {
                    tracing::warn!(%error, "could not read the service again after its write")
                }
                Err(error) => tracing::warn!(%error, "reading the service again crashed"),
            }
        });
    }

    /// An update's write ended: an end recorded shows in the view; after a write that failed
    /// the reconciler decides again a little later.
    pub(super) fn update_recorded(
        &mut self,
        myself: &ActorRef<ServiceMsg>,
        over: bool,
        error: Option<String>,
    ) {
        if let Some(error) = error {
            // A rollback not recorded is recorded with the update's end; an end not recorded
            // is tried again (the reconciler asks for it again once this write is over).
            tracing::warn!(service = %self.args.name, %error, "could not record the update");
            myself.send_after(super::reconcile::CHECK_PERIOD, || {
                ServiceMsg::UpdateWriteOver
            });
            return;
        }
        if over {
            let service = Arc::make_mut(&mut self.view.service);
            service.update = None;
            service.message = self.ended_message.take();
            self.before = None;
            self.changed();
        }
        self.observed.update_recorded(over);
        self.read_news_again(myself);
    }

    /// The store's record of the service changed (another host wrote it): an update begun,
    /// turned back or ended there is taken here (see [`news`]).
    pub(super) fn store_changed(&mut self, service: ServiceRecord, plan: PlanRecord) {
        match news(&self.view.service, &service, self.observed.recording) {
            News::Same => {}
            News::Later => self.news_while_recording = true,
            News::Ended => {
                tracing::info!(service = %self.args.name, "its update ended on another host");
                self.view.service = Arc::new(service);
                self.view.plan = Arc::new(plan);
                self.before = None;
                self.changed();
                self.observed.update_recorded(true);
            }
            News::Take => {
                tracing::info!(service = %self.args.name, "its update changed on another host");
                self.failures.clear();
                self.observed.recording = false;
                self.take_update(service, plan);
            }
        }
    }
}

/// What a Service actor does with a service record another host wrote.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum News {
    /// Nothing: it is at that stage already, with that instantiation.
    Same,
    /// Read the record again once this actor's own update write is over (what was read may
    /// predate that write).
    Later,
    /// The update is over (every host's part was done, this one's included).
    Ended,
    /// Take the update as recorded: begun, turned back, or a next one.
    Take,
}

/// What `theirs`, the record as read, is to an actor holding `mine`, `recording` while its own
/// update write is under way. Records at the same stage (no update, under way, or rolled back
/// for one reason) differ by their instantiation when an update ended and the next began
/// between two reads of the plans.
pub(super) fn news(mine: &ServiceRecord, theirs: &ServiceRecord, recording: bool) -> News {
    if recording {
        return News::Later;
    }
    let stage = |update: Option<&UpdateRecord>| update.map(|u| u.rolling_back.clone());
    let same_stage = stage(theirs.update.as_ref()) == stage(mine.update.as_ref());
    match theirs.update {
        _ if same_stage && theirs.instantiation == mine.instantiation => News::Same,
        None => News::Ended,
        Some(_) => News::Take,
    }
}
