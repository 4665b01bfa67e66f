//! `host list`: the store's host records, each with how membership sees it.

use crate::actors::RuntimeError;
use crate::actors::membership::{MemberState, MemberView};
use crate::control::protocol::{HostSummary, Response};

use super::HostState;
use super::cluster::member_views;

impl HostState {
    pub(super) async fn list_hosts(&self) -> Result<Response, RuntimeError> {
        let records = self.context.store.list_hosts()?;
        let placed = self.context.store.placed_per_host()?;
        let views = member_views(self.membership.as_ref().map(|m| &m.actor)).await;
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
                    instances: placed.get(&record.name).copied().unwrap_or(0),
                    record,
                }
            })
            .collect();
        Ok(Response::Hosts { hosts })
    }
}
