//! The hosts a deploy may place instances on: those membership sees alive whose lease in the
//! store is fresh (this host always counts), each with what its host record offers and the
//! instances the plans give it already. A host that runs without membership (no `--listen`)
//! places on itself alone.

use std::time::Duration;

use ractor::ActorRef;

use crate::actors::RuntimeError;
use crate::actors::membership::{MemberView, MembershipMsg};
use crate::actors::scheduler::Candidate;
use crate::actors::scheduler::failover::Liveness;
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

/// The live hosts of the store (seen alive, their lease fresh; this one always), as the
/// scheduler sees them.
pub async fn live_hosts(
    store: &Store,
    me: &str,
    membership: Option<&ActorRef<MembershipMsg>>,
) -> Result<Vec<Candidate>, RuntimeError> {
    let views = member_views(membership).await;
    let liveness = liveness(store, me, &views)?;
    candidates(store, |record| liveness.eligible(&record.name))
}

/// Who is live, failed or drained, as `me` sees the cluster now: membership's `views` and the
/// store's host records and leases.
pub fn liveness(store: &Store, me: &str, views: &[MemberView]) -> Result<Liveness, RuntimeError> {
    let hosts = store.list_hosts()?;
    let leases = store.leases()?;
    let now = store.clock().unix_millis();
    Ok(Liveness::judge(me, &hosts, views, &leases, now))
}

/// The hosts of the store that `live` accepts, each with what its record offers and the
/// instances the plans give it.
pub fn candidates(
    store: &Store,
    live: impl Fn(&HostRecord) -> bool,
) -> Result<Vec<Candidate>, RuntimeError> {
    let loads = store.placed_per_host()?;
    Ok(store
        .list_hosts()?
        .into_iter()
        .filter(|record| live(record))
        .map(|record| Candidate {
            load: loads.get(&record.name).copied().unwrap_or(0),
            delegates: record.delegates.iter().cloned().collect(),
            labels: record.offer.labels,
            max_instances: record.offer.max_instances,
            name: record.name,
        })
        .collect())
}
