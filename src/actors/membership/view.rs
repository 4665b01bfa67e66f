//! What this host knows about a member: the answer to [`super::MembershipMsg::Members`] and,
//! merged with the store's host records, what `khutulun host list` shows.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::identity::HostIdentity;
pub use crate::state::MemberState;

impl From<foca::State> for MemberState {
    fn from(state: foca::State) -> Self {
        match state {
            foca::State::Alive => MemberState::Alive,
            foca::State::Suspect => MemberState::Suspect,
            foca::State::Down => MemberState::Down,
        }
    }
}

/// One member as this host knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    /// Its host name.
    pub name: String,
    /// Where it answers SWIM.
    pub address: SocketAddr,
    /// Which life of the agent this is (see [`HostIdentity`]).
    pub generation: u64,
    /// Its state.
    pub state: MemberState,
    /// When this host last saw it come up or go down (RFC 3339), if it did.
    pub since: Option<String>,
}

impl MemberView {
    /// The view of `identity` in `state`.
    pub fn new(identity: &HostIdentity, state: MemberState) -> Self {
        MemberView {
            name: identity.name.clone(),
            address: identity.address,
            generation: identity.generation,
            state,
            since: None,
        }
    }

    /// Of the views named `name`, the latest life (several lives of one host can be known
    /// when it came back on another address).
    pub fn latest<'a>(views: &'a [MemberView], name: &str) -> Option<&'a MemberView> {
        views
            .iter()
            .filter(|view| view.name == name)
            .max_by_key(|view| view.generation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(name: &str, port: u16, generation: u64, state: MemberState) -> MemberView {
        MemberView {
            name: name.into(),
            address: format!("127.0.0.1:{port}").parse().unwrap(),
            generation,
            state,
            since: None,
        }
    }

    #[test]
    fn the_latest_life_of_a_host_is_the_one_that_counts() {
        let views = [
            view("alpha", 1, 10, MemberState::Down),
            view("alpha", 2, 20, MemberState::Alive),
            view("beta", 3, 30, MemberState::Suspect),
        ];
        assert_eq!(MemberView::latest(&views, "alpha"), Some(&views[1]));
        assert_eq!(MemberView::latest(&views, "beta"), Some(&views[2]));
        assert_eq!(MemberView::latest(&views, "gamma"), None);
    }

    #[test]
    fn states_are_lowercase_words_in_json() {
        let json = serde_json::to_string(&MemberState::Suspect).unwrap();
        assert_eq!(json, "\"suspect\"");
        assert_eq!(MemberState::Unknown.word(), "unknown");
    }
}
