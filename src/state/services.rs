//! Store operations on services, their plans and instances, and on host records: each one a
//! single fenced transaction, so a service appears whole or not at all.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::records::{
    HostRecord, InstanceMove, InstanceRecord, InstanceState, LeaseRecord, PlanRecord, ServicePhase,
    ServiceRecord,
};
use super::{Store, StoreError, Transaction, check_name};

/// One change of [`Store::update_instances`]: which instance, and what to do to its record.
pub struct InstanceChange {
    /// The service's namespace.
    pub namespace: String,
    /// The service.
    pub service: String,
    /// The instance id.
    pub id: String,
    /// The change.
    pub change: Box<dyn FnOnce(&mut InstanceRecord) + Send>,
}

/// A service as the store holds it: its record, its plan and its instances (in the
/// instantiation's dependency order). Its parts are shared, so a copy (a Service actor hands
/// one to every step) costs a pointer per instance, not the instantiation.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceView {
    /// `service.yaml`.
    pub service: Arc<ServiceRecord>,
    /// `plan.yaml`.
    pub plan: Arc<PlanRecord>,
    /// `instances/*.yaml`, dependencies first.
    pub instances: Vec<Arc<InstanceRecord>>,
}

/// A service's namespace and name.
pub type QualifiedName = (String, String);

/// Raises a service's plan version, which tells its hosts to look at the service again.
pub(super) fn bump_plan(
    tx: &mut Transaction<'_>,
    namespace: &str,
    service: &str,
) -> Result<(), StoreError> {
    let path = tx.layout().plan(namespace, service);
    if let Some(mut plan) = tx.read::<PlanRecord>(&path)? {
        plan.version += 1;
        tx.put(&path, &plan)?;
    }
    Ok(())
}

impl Store {
    /// Records a new service with its plan and instances in one transaction; `service.yaml` is
    /// written last, so a crash halfway leaves a folder readers ignore. Refused when a service
    /// of that name exists.
    pub fn create_service(
        &self,
        service: &ServiceRecord,
        plan: &PlanRecord,
        instances: &[InstanceRecord],
    ) -> Result<u64, StoreError> {
        check_name("namespace", &service.namespace)?;
        check_name("service", &service.name)?;
        for instance in instances {
            check_name("instance", &instance.id)?;
        }
        self.transact(|tx| {
            let layout = tx.layout().clone();
            let (namespace, name) = (&service.namespace, &service.name);
            if tx
                .read::<ServiceRecord>(&layout.service(namespace, name))?
                .is_some()
            {
                return Err(StoreError::AlreadyExists(format!(
                    "service {namespace}/{name}"
                )));
            }
            // An earlier deploy that crashed before its service.yaml left only this folder.
            tx.remove_dir(&layout.service_dir(namespace, name))?;
            for instance in instances {
                tx.put(&layout.instance(namespace, name, &instance.id), instance)?;
            }
            tx.put(&layout.plan(namespace, name), plan)?;
            tx.put(&layout.service(namespace, name), service)?;
            Ok(tx.epoch())
        })
    }

    /// Changes one instance record under the lock and returns it as written.
    pub fn update_instance(
        &self,
        namespace: &str,
        service: &str,
        id: &str,
        change: impl FnOnce(&mut InstanceRecord),
    ) -> Result<InstanceRecord, StoreError> {
        self.transact(|tx| {
            let path = tx.layout().instance(namespace, service, id);
            let mut record: InstanceRecord = tx.read(&path)?.ok_or_else(|| {
                StoreError::NotFound(format!("instance {namespace}/{service}/{id}"))
            })?;
            let before = (record.state, record.health);
            change(&mut record);
            record.updated = tx.now();
            record.note(before, &record.updated.clone());
            tx.put(&path, &record)?;
            Ok(record)
        })
    }

    /// Applies many instance changes in one transaction (the LockManager's group commit). Each
    /// change has its own outcome (a missing or corrupt record fails only its change); the outer
    /// error is for the transaction as a whole (nothing was written).
    pub fn update_instances(
        &self,
        changes: Vec<InstanceChange>,
    ) -> Result<Vec<Result<InstanceRecord, StoreError>>, StoreError> {
        self.transact(|tx| {
            let now = tx.now();
            let mut outcomes = Vec::with_capacity(changes.len());
            for change in changes {
                let (namespace, service, id) = (&change.namespace, &change.service, &change.id);
                let path = tx.layout().instance(namespace, service, id);
                let outcome = tx.read::<InstanceRecord>(&path).and_then(|record| {
                    let mut record = record.ok_or_else(|| {
                        StoreError::NotFound(format!("instance {namespace}/{service}/{id}"))
                    })?;
                    let before = (record.state, record.health);
                    (change.change)(&mut record);
                    record.updated = now.clone();
                    record.note(before, &now);
                    tx.put(&path, &record)?;
                    Ok(record)
                });
                outcomes.push(outcome);
            }
            Ok(outcomes)
        })
    }

    /// Records that the service's deploy failed on `host` with `message` (the first host's
    /// message stays: it names the cause; the plan's version rises, so the other hosts of the
    /// service learn of it). When `host` undid its part (`undone` lists the instances that
    /// failed, with why), those read as failed with their own reason and the ones removed as
    /// pending; any other keeps what undoing it said.
    pub fn fail_service(
        &self,
        namespace: &str,
        service: &str,
        host: &str,
        message: &str,
        undone: Option<&[(String, String)]>,
    ) -> Result<(), StoreError> {
        self.transact(|tx| {
            let path = tx.layout().service(namespace, service);
            let mut record: ServiceRecord = tx
                .read(&path)?
                .ok_or_else(|| StoreError::NotFound(format!("service {namespace}/{service}")))?;
            if record.phase != ServicePhase::Failed {
                record.phase = ServicePhase::Failed;
                record.message = Some(message.to_owned());
                bump_plan(tx, namespace, service)?;
            }
            if let Some(failures) = undone {
                let now = tx.now();
                for id in record.instance_ids() {
                    let path = tx.layout().instance(namespace, service, id);
                    let Some(mut instance) = tx.read::<InstanceRecord>(&path)? else {
                        continue;
                    };
                    if instance.host != host || !instance.roll_back(failures) {
                        continue;
                    }
                    instance.updated = now.clone();
                    tx.put(&path, &instance)?;
                }
            }
            tx.put(&path, &record)
        })
    }

    /// Marks a service as being deleted (its actors then remove its instances), and every one of
    /// its instances as being deleted.
    pub fn set_service_phase(
        &self,
        namespace: &str,
        service: &str,
        phase: ServicePhase,
    ) -> Result<(), StoreError> {
        self.transact(|tx| {
            if phase == ServicePhase::Deleting {
                tx.frees_space();
            }
            let path = tx.layout().service(namespace, service);
            let mut record: ServiceRecord = tx
                .read(&path)?
                .ok_or_else(|| StoreError::NotFound(format!("service {namespace}/{service}")))?;
            record.phase = phase;
            bump_plan(tx, namespace, service)?;
            if phase == ServicePhase::Deleting {
                // From now on an instance shows `failed` only if removing it failed.
                let now = tx.now();
                for id in record.instance_ids() {
                    let path = tx.layout().instance(namespace, service, id);
                    if let Some(mut instance) = tx.read::<InstanceRecord>(&path)? {
                        instance.state = InstanceState::Deleting;
                        instance.message = None;
                        instance.updated = now.clone();
                        tx.put(&path, &instance)?;
                    }
                }
            }
            tx.put(&path, &record)
        })
    }

    /// Removes `host`'s part of a deleted service: its instances' records and placements;
    /// and the whole service, everything recorded about it, once no host has a part left.
    pub fn remove_service_part(
        &self,
        namespace: &str,
        service: &str,
        host: &str,
    ) -> Result<(), StoreError> {
        self.transact(|tx| {
            tx.frees_space();
            let layout = tx.layout().clone();
            let plan_path = layout.plan(namespace, service);
            if let Some(mut plan) = tx.read::<PlanRecord>(&plan_path)? {
                let mine: Vec<String> = plan
                    .placements
                    .iter()
                    .filter(|(_, on)| *on == host)
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in &mine {
                    plan.placements.shift_remove(id);
                    plan.reasons.shift_remove(id);
                    tx.remove(&layout.instance(namespace, service, id))?;
                }
                if !plan.placements.is_empty() {
                    plan.version += 1;
                    return tx.put(&plan_path, &plan);
                }
            }
            // service.yaml goes first, so a crash halfway leaves an ignored folder.
            tx.remove(&layout.service(namespace, service))?;
            tx.remove_dir(&layout.service_dir(namespace, service))
        })
    }

    /// A service's own record (not its plan or instances: one file, not one per instance), or
    /// `None` when there is no such service.
    pub fn service_record(
        &self,
        namespace: &str,
        service: &str,
    ) -> Result<Option<ServiceRecord>, StoreError> {
        check_name("namespace", namespace)?;
        check_name("service", service)?;
        self.read::<ServiceRecord>(&self.layout().service(namespace, service))
    }

    /// One service with its plan and instances, or `None` when there is no such service.
    pub fn load_service(
        &self,
        namespace: &str,
        service: &str,
    ) -> Result<Option<ServiceView>, StoreError> {
        let Some(record) = self.service_record(namespace, service)? else {
            return Ok(None);
        };
        let layout = self.layout();
        let plan = self
            .read::<PlanRecord>(&layout.plan(namespace, service))?
            .unwrap_or_default();
        let mut instances = Vec::new();
        for id in record.instance_ids() {
            let path = layout.instance(namespace, service, id);
            if let Some(instance) = self.read::<InstanceRecord>(&path)? {
                instances.push(Arc::new(instance));
            }
        }
        Ok(Some(ServiceView {
            service: Arc::new(record),
            plan: Arc::new(plan),
            instances,
        }))
    }

    /// The `(namespace, service)` of every complete service in the store.
    pub fn list_services(&self) -> Result<Vec<(String, String)>, StoreError> {
        let layout = self.layout();
        let mut found = Vec::new();
        for namespace in self.list(&layout.services())? {
            for service in self.list(&layout.services().join(&namespace))? {
                if self
                    .read_bytes(&layout.service(&namespace, &service))?
                    .is_some()
                {
                    found.push((namespace.clone(), service));
                }
            }
        }
        Ok(found)
    }

    /// Writes this host's record.
    pub fn put_host(&self, host: &HostRecord) -> Result<(), StoreError> {
        check_name("host", &host.name)?;
        self.transact(|tx| {
            let path = tx.layout().host(&host.name);
            tx.put(&path, host)
        })
    }

    /// Forgets a host that left the cluster: its record, lease and (empty) tables.
    pub fn remove_host(&self, host: &str) -> Result<(), StoreError> {
        check_name("host", host)?;
        self.transact(|tx| {
            let layout = tx.layout().clone();
            for path in [
                layout.host(host),
                layout.lease(host),
                layout.ports(host),
                layout.directory_claims(host),
            ] {
                tx.remove(&path)?;
            }
            Ok(())
        })
    }

    /// Drains `host` (its instances move elsewhere, no new ones come), or undrains it.
    pub fn set_drained(&self, host: &str, drained: bool) -> Result<(), StoreError> {
        check_name("host", host)?;
        self.transact(|tx| {
            let path = tx.layout().host(host);
            let mut record: HostRecord = tx
                .read(&path)?
                .ok_or_else(|| StoreError::NotFound(format!("there is no host {host}")))?;
            record.drained = drained;
            tx.put(&path, &record)
        })
    }

    /// Renews `host`'s lease at `now` (ms since the Unix epoch).
    pub fn renew_lease(&self, host: &str, now: u64) -> Result<(), StoreError> {
        check_name("host", host)?;
        self.transact(|tx| {
            let path = tx.layout().lease(host);
            tx.put(&path, &LeaseRecord { renewed: now })
        })
    }

    /// When each host last renewed its lease.
    pub fn leases(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        let mut leases = BTreeMap::new();
        for file in self.list(&self.layout().leases())? {
            let Some(host) = file.strip_suffix(".yaml") else {
                continue;
            };
            if let Some(lease) = self.read::<LeaseRecord>(&self.layout().leases().join(&file))? {
                leases.insert(host.to_owned(), lease.renewed);
            }
        }
        Ok(leases)
    }

    /// Moves instances of a service to other hosts (a failover), if its plan is still at
    /// version `based_on`: each moved instance starts over, pending on its new host, and the
    /// plan's version rises so every host of the service looks again.
    pub fn move_instances(
        &self,
        namespace: &str,
        service: &str,
        based_on: u64,
        moves: &[InstanceMove],
    ) -> Result<(), StoreError> {
        self.transact(|tx| {
            let layout = tx.layout().clone();
            let plan_path = layout.plan(namespace, service);
            let mut plan: PlanRecord = tx
                .read(&plan_path)?
                .ok_or_else(|| StoreError::NotFound(format!("service {namespace}/{service}")))?;
            if plan.version != based_on {
                return Err(StoreError::StalePlan {
                    service: format!("{namespace}/{service}"),
                    based_on,
                    current: plan.version,
                });
            }
            let now = tx.now();
            for step in moves {
                let from = plan.placements.insert(step.id.clone(), step.host.clone());
                plan.reasons.insert(step.id.clone(), step.why.clone());
                let path = layout.instance(namespace, service, &step.id);
                if let Some(mut instance) = tx.read::<InstanceRecord>(&path)? {
                    instance.host = step.host.clone();
                    instance.state = InstanceState::Pending;
                    instance.attributes.clear();
                    instance.message =
                        from.map(|from| format!("moved from {from}, which went down"));
                    instance.updated = now.clone();
                    instance.push_event(&now);
                    tx.put(&path, &instance)?;
                }
            }
            plan.version += 1;
            tx.put(&plan_path, &plan)
        })
    }

    /// A service's plan (empty when it has none).
    pub fn plan(&self, namespace: &str, service: &str) -> Result<PlanRecord, StoreError> {
        check_name("namespace", namespace)?;
        check_name("service", service)?;
        let plan = self.read::<PlanRecord>(&self.layout().plan(namespace, service))?;
        Ok(plan.unwrap_or_default())
    }

    /// Every service's plan, by namespace and name (a service whose plan is missing or
    /// unreadable is left out: the service's own reads report it).
    pub fn plans(&self) -> Result<Vec<(QualifiedName, PlanRecord)>, StoreError> {
        let mut plans = Vec::new();
        for (namespace, name) in self.list_services()? {
            match self.read::<PlanRecord>(&self.layout().plan(&namespace, &name)) {
                Ok(Some(plan)) => plans.push(((namespace, name), plan)),
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "a plan could not be read"),
            }
        }
        Ok(plans)
    }

    /// How many instances the plans place on each host.
    pub fn placed_per_host(&self) -> Result<BTreeMap<String, u32>, StoreError> {
        let mut counts = BTreeMap::new();
        for (_, plan) in self.plans()? {
            for host in plan.placements.values() {
                *counts.entry(host.clone()).or_insert(0) += 1;
            }
        }
        Ok(counts)
    }

    /// Every host record (a record whose bytes did not change since the last call is not
    /// parsed again).
    pub fn list_hosts(&self) -> Result<Vec<HostRecord>, StoreError> {
        let dir = self.layout().hosts();
        let names = self.list(&dir)?;
        let cache = self.host_records();
        cache.keep_only(&names);
        let mut hosts = Vec::new();
        for name in names.iter().filter(|name| name.ends_with(".yaml")) {
            let path = dir.join(name);
            if let Some(bytes) = self.read_bytes(&path)? {
                hosts.push(cache.parse(name, &path, bytes)?);
            }
        }
        Ok(hosts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tosca::instance::{Instantiation, NodeInstance};

    fn node(id: &str) -> NodeInstance {
        NodeInstance {
            id: id.into(),
            ..NodeInstance::bare(id.trim_end_matches("-0"), 0)
        }
    }

    fn service(name: &str, ids: &[&str]) -> (ServiceRecord, PlanRecord, Vec<InstanceRecord>) {
        let instantiation = Instantiation {
            nodes: ids.iter().map(|id| node(id)).collect(),
            ..Instantiation::default()
        };
        let record = ServiceRecord::sample(name, instantiation);
        let plan = PlanRecord {
            version: 1,
            placements: ids
                .iter()
                .map(|id| (id.to_string(), "alpha".into()))
                .collect(),
            ..PlanRecord::default()
        };
        let instances = ids
            .iter()
            .map(|id| InstanceRecord::pending(id, id.trim_end_matches("-0"), "alpha", "now"))
            .collect();
        (record, plan, instances)
    }

    #[test]
    fn a_service_is_created_loaded_updated_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (record, plan, instances) = service("shop", &["db-0", "web-0"]);
        store.create_service(&record, &plan, &instances).unwrap();
        let error = store
            .create_service(&record, &plan, &instances)
            .unwrap_err();
        assert!(matches!(error, StoreError::AlreadyExists(_)), "{error}");

        store
            .update_instance("default", "shop", "web-0", |i| {
                i.state = InstanceState::Running;
                i.attributes.insert("pid".into(), 42.into());
            })
            .unwrap();
        let view = store.load_service("default", "shop").unwrap().unwrap();
        assert_eq!(view.instances.len(), 2);
        assert_eq!(view.instances[0].id, "db-0");
        assert_eq!(view.instances[1].state, InstanceState::Running);
        assert_eq!(view.instances[1].attributes["pid"], 42);
        assert_eq!(
            store.list_services().unwrap(),
            vec![("default".into(), "shop".into())]
        );

        let outcomes = store
            .update_instances(vec![
                InstanceChange {
                    namespace: "default".into(),
                    service: "shop".into(),
                    id: "db-0".into(),
                    change: Box::new(|i| i.restarts = 7),
                },
                InstanceChange {
                    namespace: "default".into(),
                    service: "shop".into(),
                    id: "nobody-0".into(),
                    change: Box::new(|i| i.restarts = 9),
                },
            ])
            .unwrap();
        assert_eq!(outcomes[0].as_ref().unwrap().restarts, 7);
        assert!(matches!(outcomes[1], Err(StoreError::NotFound(_))));
        let view = store.load_service("default", "shop").unwrap().unwrap();
        assert_eq!(view.instances[0].restarts, 7);

        store
            .set_service_phase("default", "shop", ServicePhase::Deleting)
            .unwrap();
        let view = store.load_service("default", "shop").unwrap().unwrap();
        assert_eq!(view.service.phase, ServicePhase::Deleting);
        assert!(
            view.instances
                .iter()
                .all(|i| i.state == InstanceState::Deleting)
        );

        store
            .remove_service_part("default", "shop", "alpha")
            .unwrap();
        assert!(store.load_service("default", "shop").unwrap().is_none());
        assert!(!store.layout().service_dir("default", "shop").exists());
    }

    /// `shop` with `web-0` on alpha and `web-1` on beta.
    fn shared_service(store: &Store) {
        let (record, mut plan, mut instances) = service("shop", &["web-0", "web-1"]);
        plan.placements.insert("web-1".into(), "beta".into());
        instances[1].host = "beta".into();
        store.create_service(&record, &plan, &instances).unwrap();
    }

    fn plan_of(store: &Store) -> PlanRecord {
        store
            .read(&store.layout().plan("default", "shop"))
            .unwrap()
            .unwrap()
    }

    #[test]
    fn each_host_removes_its_part_and_the_last_removes_the_service() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        shared_service(&store);
        let version = plan_of(&store).version;
        store
            .remove_service_part("default", "shop", "alpha")
            .unwrap();
        let view = store.load_service("default", "shop").unwrap().unwrap();
        let ids: Vec<&str> = view.instances.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["web-1"]);
        assert_eq!(view.plan.placements.len(), 1);
        assert!(view.plan.version > version);
        store
            .remove_service_part("default", "shop", "beta")
            .unwrap();
        assert!(!store.layout().service_dir("default", "shop").exists());
    }

    #[test]
    fn a_failure_keeps_the_first_hosts_message_and_rolls_back_only_the_failing_hosts_part() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        shared_service(&store);
        for id in ["web-0", "web-1"] {
            store
                .update_instances(vec![InstanceChange {
                    namespace: "default".into(),
                    service: "shop".into(),
                    id: id.into(),
                    change: Box::new(|i| i.state = InstanceState::Running),
                }])
                .unwrap();
        }
        let version = plan_of(&store).version;
        let undone = [("web-1".to_string(), "it crashed".to_string())];
        store
            .fail_service("default", "shop", "beta", "web-1 crashed", Some(&undone))
            .unwrap();
        assert!(
            plan_of(&store).version > version,
            "the other hosts must learn of it"
        );
        let view = store.load_service("default", "shop").unwrap().unwrap();
        assert_eq!(
            view.instances[0].state,
            InstanceState::Running,
            "alpha's part"
        );
        assert_eq!(view.instances[1].state, InstanceState::Failed);

        // alpha undoes its part too: its delete step marks the instance, then it records.
        store
            .update_instances(vec![InstanceChange {
                namespace: "default".into(),
                service: "shop".into(),
                id: "web-0".into(),
                change: Box::new(|i| i.state = InstanceState::Deleting),
            }])
            .unwrap();
        store
            .fail_service("default", "shop", "alpha", "undone too", Some(&[]))
            .unwrap();
        let view = store.load_service("default", "shop").unwrap().unwrap();
        assert_eq!(view.service.message.as_deref(), Some("web-1 crashed"));
        assert_eq!(view.instances[0].state, InstanceState::Pending);
    }

    #[test]
    fn a_folder_left_by_a_crashed_deploy_is_ignored_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (record, plan, instances) = service("shop", &["web-0"]);
        let leftover = store.layout().instance("default", "shop", "old-0");
        store
            .transact(|tx| tx.put(&leftover, &instances[0]))
            .unwrap();
        assert!(store.list_services().unwrap().is_empty());
        store.create_service(&record, &plan, &instances).unwrap();
        assert!(!leftover.exists());
    }
}
