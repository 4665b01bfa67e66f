//! `host list`: the store's host records, each with how membership sees it.

use crate::actors::RuntimeError;
use crate::actors::membership::{MemberState, MemberView};
use crate::control::protocol::{HostSummary, Response};
use crate::state::records::HostRecord;

use super::HostState;
use super::cluster::member_views;

impl HostState {
    pub(super) async fn list_hosts(&self) -> Result<Response, RuntimeError> {
        let records = self.context.store.list_hosts()?;
        let placed = self.context.store.placed_per_host()?;
        let views = member_views(self.membership.as_ref().map(|m| &m.actor)).await;
        let mut linked = match &self.peers {
            Some((network, _)) => network.linked().await,
            None => Vec::new(),
        };
        linked.push(self.context.host.clone());
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
                    linked: linked.contains(&record.name),
                    record,
                }
            })
            .collect::<Vec<_>>();
        Ok(Response::Hosts {
            hosts: with_unrecorded(hosts, &views, &linked),
        })
    }
}

/// The hosts with records, then the live members membership knows that have none in this
/// store (found by `--discover` or `--join`), with what membership knows of them; a host that
/// left has neither.
fn with_unrecorded(
    mut hosts: Vec<HostSummary>,
    views: &[MemberView],
    linked: &[String],
) -> Vec<HostSummary> {
    let mut unrecorded: Vec<&MemberView> = Vec::new();
    for view in views {
        let recorded = hosts.iter().any(|h| h.record.name == view.name);
        let newest = MemberView::latest(views, &view.name) == Some(view);
        let live = matches!(view.state, MemberState::Alive | MemberState::Suspect);
        if !recorded && newest && live && !unrecorded.iter().any(|u| u.name == view.name) {
            unrecorded.push(view);
        }
    }
    hosts.extend(unrecorded.into_iter().map(|view| {
        let mut record = HostRecord::new(&view.name, "");
        record.address = Some(view.address.to_string());
        record.version = String::new();
        HostSummary {
            record,
            membership: view.state,
            generation: Some(view.generation),
            since: view.since.clone(),
            instances: 0,
            linked: linked.contains(&view.name),
        }
    }));
    hosts
}
