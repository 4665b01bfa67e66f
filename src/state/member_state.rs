//! How one host sees another: the word membership decides, `host list` shows, and the control
//! channel carries, defined once here where all three can use it.

use serde::{Deserialize, Serialize};

/// How this host sees another one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberState {
    /// It answers (or someone it answered vouched for it recently).
    Alive,
    /// It missed its probes; it is declared down unless it refutes in time.
    Suspect,
    /// The cluster declared it down.
    Down,
    /// Membership has not heard of it (or this agent runs without `--listen`).
    Unknown,
}

impl MemberState {
    /// The lowercase word the CLI prints.
    pub fn word(self) -> &'static str {
        match self {
            MemberState::Alive => "alive",
            MemberState::Suspect => "suspect",
            MemberState::Down => "down",
            MemberState::Unknown => "unknown",
        }
    }
}
