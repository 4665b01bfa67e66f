//! The hosts a deploy may place instances on: those membership sees alive (this host always
//! counts), each with what its host record offers and the instances the plans give it
//! already. A host that runs without membership (no `--listen`) places on itself alone.

use std::time::Duration;

use ractor::ActorRef;

use crate::actors::RuntimeError;
use crate::actors::membership::{MemberState, MemberView, MembershipMsg};
use crate::actors::scheduler::Candidate;
use crate::state::Store;
use crate::state::records::HostRecord;

/// How long the Membership actor may take to say who is alive (it answers from memory).
const MEMBERSHIP_PATIENCE: Duration = Duration::from_secs(2);

/// What membership knows, or nothing when it does not run or does not answer.
pub async fn member_views(membership: Option<&ActorRef<MembershipMsg>>) -> Vec<MemberView> {
    let Some(membership) = membership else {
        return Vec::new();
    };
    match membership
        .call(MembershipMsg::Members, Some(MEMBERSHIP_PATIENCE))
        .await
    {
        Ok(ractor::rpc::CallResult::Success(views)) => views,
        _ => {
            tracing::warn!("the membership actor did not answer; other hosts count as unknown");
            Vec::new()
        }
    }
}

/// The live hosts of the store, as the scheduler sees them.
pub async fn live_hosts(
    store: &Store,
    me: &str,
    membership: Option<&ActorRef<MembershipMsg>>,
) -> Result<Vec<Candidate>, RuntimeError> {
    let views = member_views(membership).await;
    let records = store.list_hosts()?;
    let loads = store.placed_per_host()?;
    let alive = |record: &HostRecord| {
        record.name == me
            || MemberView::latest(&views, &record.name)
                .is_some_and(|view| view.state == MemberState::Alive)
    };
    Ok(records
        .into_iter()
        .filter(alive)
        .map(|record| Candidate {
            load: loads.get(&record.name).copied().unwrap_or(0),
            delegates: record.delegates.iter().cloned().collect(),
            labels: record.offer.labels,
            max_instances: record.offer.max_instances,
            name: record.name,
        })
        .collect())
}
