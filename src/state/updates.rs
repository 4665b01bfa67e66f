//! Store operations of `service update`: its beginning (the new instantiation, the instances it
//! adds, what the service ran before), its turning back, and each host's part of it done (the
//! last one ends it and forgets the instances it removed), each one fenced transaction.

use std::collections::HashSet;

use super::records::{InstanceRecord, PlanRecord, ServicePhase, ServiceRecord, UpdateRecord};
use super::services::bump_plan;
use super::{Store, StoreError, check_name};
use crate::tosca::instance::Instantiation;

impl Store {
    /// Begins an update: `service` (with its update, whose `previous` is what the service runs
    /// now), its new plan (the version after the one it was prepared from) and the records of
    /// the instances it adds, all at once. Refused when the service is not active, another
    /// update is under way, or its plan changed since.
    pub fn begin_update(
        &self,
        service: &ServiceRecord,
        plan: &PlanRecord,
        added: &[InstanceRecord],
    ) -> Result<u64, StoreError> {
        let (namespace, name) = (&service.namespace, &service.name);
        check_name("namespace", namespace)?;
        check_name("service", name)?;
        for instance in added {
            check_name("instance", &instance.id)?;
        }
        self.transact(|tx| {
            let layout = tx.layout().clone();
            let path = layout.service(namespace, name);
            let recorded: ServiceRecord = tx
                .read(&path)?
                .ok_or_else(|| StoreError::NotFound(format!("service {namespace}/{name}")))?;
            if recorded.phase != ServicePhase::Active || recorded.update.is_some() {
                return Err(StoreError::Conflict(format!(
                    "service {namespace}/{name} is {}; only an active service with no update \
                     under way is updated",
                    match (recorded.update, recorded.phase) {
                        (Some(_), _) => "being updated",
                        (None, ServicePhase::Failed) => "failed",
                        (None, _) => "being deleted",
                    }
                )));
            }
            let plan_path = layout.plan(namespace, name);
            let recorded_plan: Option<PlanRecord> = tx.read(&plan_path)?;
            if recorded_plan.is_some_and(|recorded| recorded.version + 1 != plan.version) {
                return Err(StoreError::Conflict(format!(
                    "service {namespace}/{name} changed while its update was prepared; run \
                     the update again"
                )));
            }
            for instance in added {
                tx.put(&layout.instance(namespace, name, &instance.id), instance)?;
            }
            tx.put(&plan_path, plan)?;
            tx.put(&path, service)?;
            Ok(tx.epoch())
        })
    }

    /// Records an update turned back: the instantiation the service is to run again and the
    /// update (rolling back, no host's part of it done yet); the plan's version rises, so the
    /// service's other hosts turn back too.
    pub fn roll_back_update(
        &self,
        namespace: &str,
        name: &str,
        instantiation: &Instantiation,
        update: &UpdateRecord,
    ) -> Result<(), StoreError> {
        self.transact(|tx| {
            let path = tx.layout().service(namespace, name);
            let mut record: ServiceRecord = tx
                .read(&path)?
                .ok_or_else(|| StoreError::NotFound(format!("service {namespace}/{name}")))?;
            record.instantiation = instantiation.clone();
            record.update = Some(UpdateRecord {
                done: Default::default(),
                ..update.clone()
            });
            bump_plan(tx, namespace, name)?;
            tx.put(&path, &record)
        })
    }

    /// Records that `host`'s part of the update's stage (`rolling_back` says which) is done;
    /// when every host of the plan is done, ends the update: the service's message becomes
    /// `message`, the records and placements of the instances it removed go, and the plan's
    /// version rises when that changed it or other hosts have a part (they learn the end). Whether the update is over (it may have
    /// ended before); a stage other than the recorded one changes nothing (its news comes).
    pub fn finish_update_part(
        &self,
        namespace: &str,
        name: &str,
        host: &str,
        rolling_back: Option<&str>,
        message: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.transact(|tx| {
            let layout = tx.layout().clone();
            let path = layout.service(namespace, name);
            let mut record: ServiceRecord = tx
                .read(&path)?
                .ok_or_else(|| StoreError::NotFound(format!("service {namespace}/{name}")))?;
            let Some(update) = record.update.as_mut() else {
                return Ok(true);
            };
            if update.rolling_back.as_deref() != rolling_back {
                return Ok(false);
            }
            update.done.insert(host.to_owned());
            let plan_path = layout.plan(namespace, name);
            let mut plan: PlanRecord = tx.read(&plan_path)?.unwrap_or_default();
            if !plan.placements.values().all(|on| update.done.contains(on)) {
                tx.put(&path, &record)?;
                return Ok(false);
            }
            let kept: HashSet<&str> = (record.instantiation.nodes.iter())
                .map(|node| node.id.as_str())
                .collect();
            let forgotten: Vec<String> = (plan.placements.keys())
                .filter(|id| !kept.contains(id.as_str()))
                .cloned()
                .collect();
            for id in &forgotten {
                plan.placements.shift_remove(id);
                plan.reasons.shift_remove(id);
                tx.remove(&layout.instance(namespace, name, id))?;
            }
            // Other hosts learn the end from the plan's version; alone, this host knows it.
            if !forgotten.is_empty() || !plan.other_hosts(host).is_empty() {
                plan.version += 1;
                tx.put(&plan_path, &plan)?;
            }
            record.update = None;
            record.message = message.map(str::to_owned);
            tx.put(&path, &record)?;
            Ok(true)
        })
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::state::records::InstanceState;
    use crate::tosca::instance::NodeInstance;

    fn instantiation(ids: &[&str]) -> Instantiation {
        let node = |id: &&str| NodeInstance {
            id: (*id).into(),
            ..NodeInstance::bare(id.trim_end_matches("-0"), 0)
        };
        Instantiation {
            nodes: ids.iter().map(node).collect(),
            ..Instantiation::default()
        }
    }

    /// Service `shop` running `a-0` on alpha and `b-0`, `old-0` on beta, its update (which
    /// drops `old-0`) begun.
    fn updating(store: &Store) -> ServiceRecord {
        let placed = [("a-0", "alpha"), ("b-0", "beta"), ("old-0", "beta")];
        let mut record = ServiceRecord::sample("shop", instantiation(&["a-0", "b-0", "old-0"]));
        let mut plan = PlanRecord {
            version: 1,
            ..PlanRecord::default()
        };
        let mut instances = Vec::new();
        for (id, host) in placed {
            plan.placements.insert(id.into(), host.into());
            let template = id.trim_end_matches("-0");
            instances.push(InstanceRecord::pending(id, template, host, "now"));
        }
        store.create_service(&record, &plan, &instances).unwrap();
        record.update = Some(UpdateRecord {
            previous: record.instantiation.clone(),
            max_parallel: 1,
            rolling_back: None,
            done: Default::default(),
        });
        record.instantiation = instantiation(&["a-0", "b-0"]);
        plan.version += 1;
        store.begin_update(&record, &plan, &[]).unwrap();
        record
    }

    #[test]
    fn an_update_ends_when_every_host_of_its_plan_is_done_with_its_stage() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        updating(&store);
        let version = |store: &Store| store.plan("default", "shop").unwrap().version;

        // alpha is done: the update waits for beta, and the plan does not change.
        assert!(
            !store
                .finish_update_part("default", "shop", "alpha", None, None)
                .unwrap()
        );
        let record = store.service_record("default", "shop").unwrap().unwrap();
        let done = &record.update.as_ref().unwrap().done;
        assert_eq!(done.iter().collect::<Vec<_>>(), ["alpha"]);
        assert_eq!(version(&store), 2);

        // A part done for another stage (a rollback this host has not seen) counts for nothing.
        let stale = store.finish_update_part("default", "shop", "beta", Some("why"), None);
        assert!(!stale.unwrap());

        // beta is done too: the update is over, the dropped instance forgotten, the plan's
        // version raised for the other hosts.
        assert!(
            store
                .finish_update_part("default", "shop", "beta", None, None)
                .unwrap()
        );
        let view = store.load_service("default", "shop").unwrap().unwrap();
        assert!(view.service.update.is_none());
        assert!(!view.plan.placements.contains_key("old-0"));
        let ids: Vec<&str> = view.instances.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["a-0", "b-0"]);
        assert!(
            view.instances
                .iter()
                .all(|i| i.state == InstanceState::Pending)
        );
        assert_eq!(version(&store), 3);

        // Asked again (the other host's news came late): already over.
        assert!(
            store
                .finish_update_part("default", "shop", "alpha", None, None)
                .unwrap()
        );
        assert_eq!(version(&store), 3);
    }

    #[test]
    fn a_rollback_starts_its_stage_with_no_host_done() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut record = updating(&store);
        assert!(
            !store
                .finish_update_part("default", "shop", "alpha", None, None)
                .unwrap()
        );

        let update = record.update.as_mut().unwrap();
        std::mem::swap(&mut record.instantiation, &mut update.previous);
        update.rolling_back = Some("b-0 failed".into());
        update.done.insert("alpha".into());
        let (instantiation, update) = (record.instantiation.clone(), update.clone());
        store
            .roll_back_update("default", "shop", &instantiation, &update)
            .unwrap();
        let recorded = store.service_record("default", "shop").unwrap().unwrap();
        let recorded_update = recorded.update.unwrap();
        assert!(recorded_update.done.is_empty());
        assert_eq!(recorded.instantiation.nodes.len(), 3);

        // The way forward's stage is over: a part done for it changes nothing.
        assert!(
            !store
                .finish_update_part("default", "shop", "beta", None, None)
                .unwrap()
        );
        let why = Some("b-0 failed");
        let message = Some("the update failed and was rolled back: b-0 failed");
        assert!(
            !store
                .finish_update_part("default", "shop", "beta", why, message)
                .unwrap()
        );
        assert!(
            store
                .finish_update_part("default", "shop", "alpha", why, message)
                .unwrap()
        );
        let view = store.load_service("default", "shop").unwrap().unwrap();
        assert_eq!(view.service.message.as_deref(), message);
        assert!(
            view.plan.placements.contains_key("old-0"),
            "what it goes back to stays"
        );
    }
}
