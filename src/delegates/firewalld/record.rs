//! What Khutulun opened in Firewalld for one ingress port: kept in the instance's attributes
//! (for people and for `$get_attribute`) and in a file of the instance's private directory,
//! written before anything is opened, so an agent that dies between opening and recording
//! still knows the opening is its own.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::delegates::profile::Protocol;
use crate::delegates::protocol::{Attributes, DelegateError};
use crate::state::{Filesystem, RealFs};

/// The attribute naming the zone of the opening.
pub const ZONE_ATTRIBUTE: &str = "firewalld_zone";
/// The attribute naming the port as Firewalld does (`8080/tcp`).
pub const PORT_ATTRIBUTE: &str = "firewalld_port";
/// The attribute saying what Khutulun opened (and closes on delete).
pub const OPENED_ATTRIBUTE: &str = "firewalld_opened";
/// The attribute saying why the port is not (only) Khutulun's opening.
pub const NOTE_ATTRIBUTE: &str = "firewalld_note";

/// A port as Firewalld names it: number and protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallPort {
    /// The port number.
    pub number: u16,
    /// TCP or UDP.
    pub protocol: Protocol,
}

impl fmt::Display for FirewallPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.number, self.protocol)
    }
}

impl FirewallPort {
    /// Reads `8080/tcp`.
    pub fn parse(text: &str) -> Option<FirewallPort> {
        let (number, protocol) = text.split_once('/')?;
        let protocol = match protocol {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            _ => return None,
        };
        Some(FirewallPort {
            number: number.parse().ok()?,
            protocol,
        })
    }
}

/// The two places a Firewalld opening can be: the running firewall, and the permanent
/// configuration that a reload or a reboot applies again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layers {
    /// The running firewall.
    pub runtime: bool,
    /// The permanent configuration.
    pub permanent: bool,
}

impl Layers {
    /// The layers an ingress port wants: always the running firewall, and the permanent
    /// configuration when its `permanent` property says so.
    pub fn wanted(permanent: bool) -> Layers {
        Layers {
            runtime: true,
            permanent,
        }
    }

    /// Each layer set in either.
    pub fn union(self, other: Layers) -> Layers {
        Layers {
            runtime: self.runtime || other.runtime,
            permanent: self.permanent || other.permanent,
        }
    }

    /// `runtime`, `runtime+permanent`, `permanent` or `none`.
    pub fn name(self) -> &'static str {
        match (self.runtime, self.permanent) {
            (true, true) => "runtime+permanent",
            (true, false) => "runtime",
            (false, true) => "permanent",
            (false, false) => "none",
        }
    }

    /// Reads what [`Layers::name`] writes.
    pub fn parse(text: &str) -> Option<Layers> {
        let layers = |runtime, permanent| Some(Layers { runtime, permanent });
        match text {
            "runtime+permanent" => layers(true, true),
            "runtime" => layers(true, false),
            "permanent" => layers(false, true),
            "none" => layers(false, false),
            _ => None,
        }
    }
}

/// One ingress port's opening: where, and which layers Khutulun opened itself (and so closes
/// on delete). A wanted layer that was open before Khutulun asked is the administrator's: it is
/// not owned, and stays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opening {
    /// The zone it is opened in.
    pub zone: String,
    /// The port.
    pub port: FirewallPort,
    /// The layers Khutulun opened.
    pub owned: Layers,
    /// The layers wanted (by the port's `permanent` property).
    pub wanted: Layers,
}

/// What an ingress port got from Firewalld.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ingress {
    /// It is open in a zone.
    Open(Opening),
    /// It is reserved but not exposed, because no Firewalld answered (and the agent is
    /// configured to go on without one).
    Unexposed {
        /// Why, in one sentence.
        reason: String,
    },
}

impl Opening {
    /// Why some wanted layer is not Khutulun's, if one is not.
    fn note(&self) -> Option<String> {
        let foreign = Layers {
            runtime: self.wanted.runtime && !self.owned.runtime,
            permanent: self.wanted.permanent && !self.owned.permanent,
        };
        (foreign != Layers::default()).then(|| {
            format!(
                "{} was open in zone {} ({}) before Khutulun opened it: that opening is the administrator's and stays",
                self.port,
                self.zone,
                foreign.name()
            )
        })
    }
}

impl Ingress {
    /// The attributes that show it (see the Port type in the profile).
    pub fn attributes(&self) -> Attributes {
        let mut attributes = Attributes::new();
        match self {
            Ingress::Open(opening) => {
                attributes.insert(ZONE_ATTRIBUTE.into(), opening.zone.clone().into());
                attributes.insert(PORT_ATTRIBUTE.into(), opening.port.to_string().into());
                attributes.insert(OPENED_ATTRIBUTE.into(), opening.owned.name().into());
                if let Some(note) = opening.note() {
                    attributes.insert(NOTE_ATTRIBUTE.into(), note.into());
                }
            }
            Ingress::Unexposed { reason } => {
                attributes.insert(OPENED_ATTRIBUTE.into(), Layers::default().name().into());
                attributes.insert(
                    NOTE_ATTRIBUTE.into(),
                    format!("not exposed: {reason}").into(),
                );
            }
        }
        attributes
    }

    /// Reads what [`Ingress::attributes`] wrote; `None` when they show no ingress. `wanted`
    /// is the port's `permanent` property, which the attributes do not repeat.
    pub fn of_attributes(attributes: &Attributes, wanted: Layers) -> Option<Ingress> {
        let text = |name: &str| attributes.get(name).and_then(|value| value.as_str());
        let owned = Layers::parse(text(OPENED_ATTRIBUTE)?)?;
        let Some(zone) = text(ZONE_ATTRIBUTE) else {
            let note = text(NOTE_ATTRIBUTE).unwrap_or_default();
            let reason = note.strip_prefix("not exposed: ").unwrap_or(note);
            return Some(Ingress::Unexposed {
                reason: reason.to_owned(),
            });
        };
        Some(Ingress::Open(Opening {
            zone: zone.to_owned(),
            port: FirewallPort::parse(text(PORT_ATTRIBUTE)?)?,
            owned,
            wanted,
        }))
    }
}

/// The name of the file, in the instance's private directory, that records its opening.
pub const RECORD_FILE: &str = "firewalld.json";

/// Reads the opening recorded at `path`; `None` when there is none.
pub fn read_record(path: &Path) -> Result<Option<Opening>, DelegateError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(DelegateError::io(format!("read {}", path.display()), error)),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|error| {
        DelegateError::Failed(format!(
            "{} does not record a Firewalld opening ({error}); remove it once the port is closed by hand",
            path.display()
        ))
    })
}

/// Records `opening` at `path`, atomically and durably, before it is made.
pub fn write_record(path: &Path, opening: &Opening) -> Result<(), DelegateError> {
    let bytes = serde_json::to_vec_pretty(opening).expect("an opening serialises");
    RealFs
        .write_atomic(path, &bytes)
        .map_err(|error| DelegateError::io(format!("write {}", path.display()), error))
}

/// Forgets the opening recorded at `path` (none is fine).
pub fn remove_record(path: &Path) -> Result<(), DelegateError> {
    RealFs
        .remove_file(path)
        .map_err(|error| DelegateError::io(format!("remove {}", path.display()), error))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opening(owned: Layers, wanted: Layers) -> Opening {
        Opening {
            zone: "public".into(),
            port: FirewallPort {
                number: 8080,
                protocol: Protocol::Tcp,
            },
            owned,
            wanted,
        }
    }

    #[test]
    fn attributes_round_trip_and_say_whose_the_opening_is() {
        let both = Layers::wanted(true);
        let cases = [
            (opening(both, both), "runtime+permanent", None),
            (
                opening(Layers::wanted(false), both),
                "runtime",
                Some("8080/tcp was open in zone public (permanent) before Khutulun"),
            ),
            (
                opening(Layers::default(), Layers::wanted(false)),
                "none",
                Some("(runtime) before Khutulun opened it"),
            ),
        ];
        for (opening, opened, note) in cases {
            let ingress = Ingress::Open(opening.clone());
            let attributes = ingress.attributes();
            assert_eq!(attributes[OPENED_ATTRIBUTE], opened);
            assert_eq!(attributes[PORT_ATTRIBUTE], "8080/tcp");
            let shown = attributes.get(NOTE_ATTRIBUTE).and_then(|n| n.as_str());
            match note {
                Some(note) => assert!(shown.is_some_and(|s| s.contains(note)), "{shown:?}"),
                None => assert_eq!(shown, None),
            }
            assert_eq!(
                Ingress::of_attributes(&attributes, opening.wanted),
                Some(ingress)
            );
        }
    }

    #[test]
    fn an_unexposed_port_says_why_and_reads_back() {
        let ingress = Ingress::Unexposed {
            reason: "no system bus".into(),
        };
        let attributes = ingress.attributes();
        assert_eq!(attributes[NOTE_ATTRIBUTE], "not exposed: no system bus");
        assert_eq!(
            Ingress::of_attributes(&attributes, Layers::wanted(false)),
            Some(ingress)
        );
        assert_eq!(
            Ingress::of_attributes(&Attributes::new(), Layers::wanted(false)),
            None
        );
    }

    #[test]
    fn the_record_file_round_trips_and_a_missing_one_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("instance").join(RECORD_FILE);
        assert_eq!(read_record(&path).unwrap(), None);
        let opening = opening(Layers::wanted(true), Layers::wanted(true));
        write_record(&path, &opening).unwrap();
        assert_eq!(read_record(&path).unwrap(), Some(opening));
        remove_record(&path).unwrap();
        remove_record(&path).unwrap();
        assert_eq!(read_record(&path).unwrap(), None);
    }

    #[test]
    fn ports_and_layers_parse_what_they_print() {
        for text in ["8080/tcp", "53/udp"] {
            assert_eq!(FirewallPort::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(FirewallPort::parse("8080/sctp"), None);
        for layers in [(false, false), (true, false), (false, true), (true, true)] {
            let layers = Layers {
                runtime: layers.0,
                permanent: layers.1,
            };
            assert_eq!(Layers::parse(layers.name()), Some(layers));
        }
    }
}
