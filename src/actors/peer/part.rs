//! What a host may ask of another about a service: only the part that host runs, and only
//! what the store cannot answer. Encoded as JSON, decoded with a size bound: the sender is
//! authenticated, but a bug or a newer version must not take the receiver down.

use serde::{Deserialize, Serialize};

use crate::control::protocol::{ExecAsk, Failure, FailureKind, InstanceAction, Reply};

/// The largest request or reply accepted (a reply carries instances' output, capped by the
/// owning host at [`OUTPUT_CAP`] per instance).
pub const MAX_MESSAGE: usize = 4 * 1024 * 1024;

/// How much of one instance's output a host sends for `service logs` asked elsewhere: its end.
pub const OUTPUT_CAP: usize = 256 * 1024;

/// A request for the asked host's part of a service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Part {
    /// The output so far of its instances (or of one).
    Logs {
        /// The namespace.
        namespace: String,
        /// The service.
        name: String,
        /// One instance, or all of this host's.
        instance: Option<String>,
    },
    /// Stop, start or restart its instances (or one).
    Control(ControlAsk),
    /// Run a command in one of its instances.
    Exec(ExecAsk),
}

/// A stop, start or restart of a service's instances (the Host's and another host's part).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ControlAsk {
    /// The namespace.
    pub namespace: String,
    /// The service.
    pub name: String,
    /// What to do.
    pub action: InstanceAction,
    /// One instance, or all.
    pub instance: Option<String>,
    /// Answer once done.
    pub wait: bool,
}

impl Part {
    /// The bytes sent.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a part always encodes")
    }

    /// The part in `bytes`, or why it is none.
    pub fn decode(bytes: &[u8]) -> Result<Part, String> {
        if bytes.len() > MAX_MESSAGE {
            return Err(format!("a request of {} bytes is too long", bytes.len()));
        }
        serde_json::from_slice(bytes).map_err(|e| format!("not a request this host knows: {e}"))
    }
}

/// The bytes of a reply.
pub fn encode_reply(reply: &Reply) -> Vec<u8> {
    serde_json::to_vec(reply).expect("a reply always encodes")
}

/// The reply in `bytes`; a reply that cannot be read is a failure of the asked host.
pub fn decode_reply(bytes: &[u8]) -> Reply {
    if bytes.len() > MAX_MESSAGE {
        return Err(internal(format!(
            "a reply of {} bytes is too long",
            bytes.len()
        )));
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| Err(internal(format!("unreadable reply: {e}"))))
}

fn internal(message: String) -> Failure {
    Failure {
        kind: FailureKind::Internal,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::protocol::Response;

    #[test]
    fn a_part_and_a_reply_survive_their_bytes() {
        let part = Part::Control(ControlAsk {
            namespace: "ns".into(),
            name: "web".into(),
            action: InstanceAction::Restart,
            instance: Some("web-0".into()),
            wait: true,
        });
        assert_eq!(Part::decode(&part.encode()), Ok(part));
        let reply: Reply = Ok(Response::Controlled {
            instances: vec!["web-0".into()],
        });
        assert_eq!(decode_reply(&encode_reply(&reply)), reply);
    }

    #[test]
    fn garbage_and_oversized_messages_are_refused_not_trusted() {
        assert!(Part::decode(b"{\"Exec\":{}}").is_err());
        assert!(Part::decode(&vec![b' '; MAX_MESSAGE + 1]).is_err());
        let unreadable = decode_reply(b"\xff");
        assert!(matches!(
            unreadable,
            Err(Failure {
                kind: FailureKind::Internal,
                ..
            })
        ));
    }
}
