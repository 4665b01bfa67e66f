//! Store operations of `service update`: its beginning (the new instantiation, the instances it
//! adds, what the service ran before) and where it stands afterwards (rolled back, or over and
//! the instances it removed forgotten), each one fenced transaction.

use super::records::{InstanceRecord, PlanRecord, ServicePhase, ServiceRecord, UpdateRecord};
use super::services::bump_plan;
use super::{Store, StoreError, check_name};
use crate::tosca::instance::Instantiation;

impl Store {
    /// Begins an update: `service` (with its update, whose `previous` is what the service runs
    /// now), its new plan and the records of the instances it adds, all at once. Refused when
    /// the service is not active or another update is under way.
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
            for instance in added {
                tx.put(&layout.instance(namespace, name, &instance.id), instance)?;
            }
            tx.put(&layout.plan(namespace, name), plan)?;
            tx.put(&path, service)?;
            Ok(tx.epoch())
        })
    }

    /// Records where an update stands: the instantiation the service is to run and the update
    /// (`None` once it is over), with the service's message; the records and placements of
    /// `forgotten` instances (removed by the update, all gone) go.
    pub fn record_update(
        &self,
        namespace: &str,
        name: &str,
        instantiation: &Instantiation,
        update: Option<&UpdateRecord>,
        message: Option<&str>,
        forgotten: &[String],
    ) -> Result<(), StoreError> {
        self.transact(|tx| {
            let layout = tx.layout().clone();
            let path = layout.service(namespace, name);
            let mut record: ServiceRecord = tx
                .read(&path)?
                .ok_or_else(|| StoreError::NotFound(format!("service {namespace}/{name}")))?;
            record.instantiation = instantiation.clone();
            record.update = update.cloned();
            record.message = message.map(str::to_owned);
            let plan_path = layout.plan(namespace, name);
            match tx.read::<PlanRecord>(&plan_path)? {
                Some(mut plan) if !forgotten.is_empty() => {
                    for id in forgotten {
                        plan.placements.shift_remove(id);
                        plan.reasons.shift_remove(id);
                        tx.remove(&layout.instance(namespace, name, id))?;
                    }
                    plan.version += 1;
                    tx.put(&plan_path, &plan)?;
                }
                _ => bump_plan(tx, namespace, name)?,
            }
            tx.put(&path, &record)
        })
    }
}
