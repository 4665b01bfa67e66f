//! `host list`: the store's host records, each with how membership sees it.

use std::time::Duration;

use crate::actors::RuntimeError;
use crate::actors::membership::{MemberState, MemberView, MembershipMsg};
use crate::control::protocol::{HostSummary, Response};

use super::HostState;

/// How long the Membership actor may take to answer (it answers from memory).
const MEMBERSHIP_PATIENCE: Duration = Duration::from_secs(2);

impl HostState {
    /// What membership knows, or nothing when it does not run or does not answer.
    async fn member_views(&self) -> Vec<MemberView> {
        let Some(membership) = &self.membership else {
            return Vec::new();
        };
        match membership
            .actor
            .call(MembershipMsg::Members, Some(MEMBERSHIP_PATIENCE))
            .await
        {
            Ok(ractor::rpc::CallResult::Success(views)) => views,
            _ => {
                tracing::warn!("the membership actor did not answer; host states are unknown");
                Vec::new()
            }
        }
    }

    pub(super) async fn list_hosts(&self) -> Result<Response, RuntimeError> {
        let records = self.context.store.list_hosts()?;
        let views = self.member_views().await;
        let hosts = records
            .into_iter()
            .map(|record| {
                let view = MemberView::latest(&views, &record.name);
                let membership = match view {
                    Some(view) => view.state,
                    // The host answering is alive whether or not it runs membership.
                    None if record.name == self.context.host => MemberState::Alive,
                    None => MemberState::Unknown,
                };
                HostSummary {
                    membership,
                    generation: view.map(|view| view.generation),
                    since: view.and_then(|view| view.since.clone()),
                    record,
                }
            })
            .collect();
        Ok(Response::Hosts { hosts })
    }
}
