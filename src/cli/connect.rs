//! What every client command shares: finding the local agent and turning its answers into
//! exit codes.

use std::path::PathBuf;

use clap::Args;

use crate::control::paths::default_runtime_dir;
use crate::control::protocol::{Request, Response};
use crate::control::{Client, ClientError, RuntimePaths};

/// How to reach the local agent.
#[derive(Clone, Debug, Args)]
pub struct AgentAddress {
    /// The agent's runtime directory (its control socket and token) [default:
    /// $XDG_RUNTIME_DIR/khutulun, or /run/khutulun for root].
    #[arg(long, env = "KHUTULUN_RUNTIME", value_name = "DIR", global = true)]
    pub runtime: Option<PathBuf>,
}

impl AgentAddress {
    /// The runtime directory to use.
    pub fn paths(&self) -> RuntimePaths {
        RuntimePaths::new(self.runtime.clone().unwrap_or_else(default_runtime_dir))
    }

    /// Connects and sends one request.
    pub fn request(&self, request: Request) -> Result<Response, ClientError> {
        Client::connect(self.paths())?.request(request)
    }
}

/// An answer the command did not expect (a bug on one side).
pub fn unexpected(response: Response) -> String {
    format!("the agent gave an unexpected answer: {response:?}")
}
