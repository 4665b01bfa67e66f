//! The libvirt delegate's helper process, `khutulun-libvirt`, and what passes between it and
//! the agent.
//!
//! The libvirt C library pulls in some fifty shared libraries (GLib, GnuTLS, libxml2, …) whose
//! loading and start-up cost every process that links it about 12 ms, and a host without
//! libvirt could not run the program at all. So only the helper links it: the agent runs it
//! once per call, writes one [`Call`] to its standard input as JSON and reads the outcome from
//! its standard output (`Result<T, Refusal>` as JSON). Its log lines go to the agent's
//! standard error. A crash in the C library ends the helper, not the agent.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use super::domain::Accelerator;
use crate::delegates::protocol::{Attributes, DelegateError, InstanceSpec};

/// The helper's file name: found next to the running `khutulun`, else on `PATH`.
pub const HELPER: &str = "khutulun-libvirt";

/// One call to the helper: where libvirt answers, how guests run, and what to do.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Call {
    /// The libvirt URI.
    pub uri: String,
    /// KVM or TCG.
    pub accelerator: Accelerator,
    /// What to do.
    pub request: Request,
}

/// What the helper is asked to do; each answers `Result<T, Refusal>` with the `T` named.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// Whether libvirt answers: `()`.
    Check,
    /// Define the domain: [`Attributes`].
    Create(Box<InstanceSpec>),
    /// Run the guest: [`Attributes`].
    Start(Box<InstanceSpec>),
    /// Look at the guest, or adopt it: an [`Observation`](crate::delegates::protocol::Observation).
    Observe {
        /// The instance.
        spec: Box<InstanceSpec>,
        /// Adopting (after an agent restart) rather than a periodic look.
        adopt: bool,
        /// The attributes recorded for it.
        recorded: Attributes,
    },
    /// Power the guest off: [`Attributes`].
    Stop(Box<InstanceSpec>),
    /// Remove the domain and the instance's directory: `()`.
    Delete(Box<InstanceSpec>),
}

/// Why the helper could not do a call, as it crosses the pipe.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// Something it needs is missing (libvirt does not answer, a tool is not installed).
    Unavailable(String),
    /// It failed for another reason, said in one sentence.
    Failed(String),
}

impl From<DelegateError> for Refusal {
    fn from(error: DelegateError) -> Self {
        match error {
            DelegateError::Unavailable(message) => Refusal::Unavailable(message),
            other => Refusal::Failed(other.to_string()),
        }
    }
}

impl From<Refusal> for DelegateError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Unavailable(message) => DelegateError::Unavailable(message),
            Refusal::Failed(message) => DelegateError::Failed(message),
        }
    }
}

/// Where the helper is: beside the running executable (as the package and `cargo build`
/// put it), else whatever `PATH` finds.
fn helper_path() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join(HELPER)))
        .filter(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from(HELPER))
}

/// Runs the helper for `call` and reads its answer; a helper that takes longer than `deadline`
/// is killed.
pub async fn run<T: DeserializeOwned>(call: &Call, deadline: Duration) -> Result<T, DelegateError> {
    let path = helper_path();
    let mut child = tokio::process::Command::new(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            DelegateError::Unavailable(format!(
                "could not run the libvirt delegate's helper {} ({e}); install it beside khutulun",
                path.display()
            ))
        })?;
    let input = serde_json::to_vec(call).map_err(|e| DelegateError::Failed(e.to_string()))?;
    let exchange = async {
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(&input).await?;
        }
        child.wait_with_output().await
    };
    let output = tokio::time::timeout(deadline, exchange)
        .await
        .map_err(|_| {
            DelegateError::Failed(format!(
                "{} did not answer within {} s",
                path.display(),
                deadline.as_secs()
            ))
        })?
        .map_err(|e| DelegateError::io(format!("run {}", path.display()), e))?;
    serde_json::from_slice::<Result<T, Refusal>>(&output.stdout)
        .map_err(|e| {
            DelegateError::Failed(format!(
                "{} ended ({}) without an answer: {e}",
                path.display(),
                output.status
            ))
        })?
        .map_err(DelegateError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_keeps_whether_something_is_missing() {
        let missing: DelegateError =
            Refusal::from(DelegateError::Unavailable("libvirt does not answer".into())).into();
        assert!(matches!(missing, DelegateError::Unavailable(m) if m == "libvirt does not answer"));
        let io = DelegateError::io("write /x", std::io::Error::other("disk full"));
        let failed: DelegateError = Refusal::from(io).into();
        assert!(matches!(failed, DelegateError::Failed(m) if m == "could not write /x: disk full"));
    }

    #[test]
    fn a_call_reads_back_as_written() {
        let call = Call {
            uri: "qemu:///session".into(),
            accelerator: Accelerator::Tcg,
            request: Request::Check,
        };
        let text = serde_json::to_string(&call).unwrap();
        assert_eq!(
            text,
            r#"{"uri":"qemu:///session","accelerator":"tcg","request":"check"}"#
        );
        let back: Call = serde_json::from_str(&text).unwrap();
        assert!(matches!(back.request, Request::Check));
        assert_eq!(back.accelerator, Accelerator::Tcg);
    }
}
