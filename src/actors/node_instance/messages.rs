//! What a Service actor asks of a NodeInstance actor, and what the NodeInstance reports back.

use std::sync::Arc;

use crate::state::ServiceView;

use super::super::service::reconcile::Step;

/// The NodeInstance actor's one message: take a step on the instance.
#[derive(Debug)]
pub struct NodeInstanceMsg {
    /// The step.
    pub step: Step,
    /// The service as its Service actor holds it when the step begins (dependencies done).
    pub view: Arc<ServiceView>,
    /// For [`Step::Renew`]: the service holding the definition its workload was made from
    /// (what an update replaces), which says how to remove it.
    pub made_from: Option<Arc<ServiceView>>,
}

// Local only: never sent to another host.
impl ractor::Message for NodeInstanceMsg {}

/// How a step ended, sent to the Service actor when it did.
#[derive(Debug)]
pub struct StepReport {
    /// The instance's position in its Service actor's list.
    pub index: usize,
    /// Why it failed, if it did (the records it wrote were sent before, as they were written).
    pub error: Option<String>,
}
