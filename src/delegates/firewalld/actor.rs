//! The firewalld delegate's actor: one connection to the system bus (made when first needed,
//! made again when the bus closed it), each request served in its own task (the openings live
//! in Firewalld and in the instances' records, not here).

use std::path::Path;

use ractor::{Actor, ActorProcessingErr, ActorRef};
use tracing::{info, warn};

use super::bus::FirewalldBus;
use super::message::FirewalldMsg;
use super::plan::{close_plan, merged, missing, open_plan};
use super::record::{FirewallPort, Layers, Opening, read_record, remove_record, write_record};
use crate::delegates::protocol::{DelegateError, InstanceHealth};

/// How the firewalld delegate reaches Firewalld and where it opens ports.
#[derive(Clone, Debug, Default)]
pub struct FirewalldConfig {
    /// The zone ingress ports are opened in; `None` asks Firewalld for its default zone.
    pub zone: Option<String>,
    /// The system bus's address; `None` is `DBUS_SYSTEM_BUS_ADDRESS`, else the usual socket.
    pub bus: Option<String>,
}

/// The firewalld delegate.
pub struct FirewalldDelegate;

/// The configuration and the connection, made when first needed.
pub struct FirewalldState {
    config: FirewalldConfig,
    bus: Option<FirewalldBus>,
}

impl FirewalldState {
    async fn bus(&mut self) -> Result<FirewalldBus, DelegateError> {
        if let Some(bus) = self.bus.as_ref().filter(|bus| !bus.is_closed()) {
            return Ok(bus.clone());
        }
        let bus = FirewalldBus::connect(self.config.bus.as_deref()).await?;
        info!(version = bus.version(), "connected to firewalld");
        self.bus = Some(bus.clone());
        Ok(bus)
    }
}

impl Actor for FirewalldDelegate {
    type Msg = FirewalldMsg;
    type State = FirewalldState;
    type Arguments = FirewalldConfig;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        config: FirewalldConfig,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(FirewalldState { config, bus: None })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let bus = state.bus().await;
        let zone = state.config.zone.clone();
        match message {
            FirewalldMsg::Available { reply } => {
                // Asked again: a Firewalld stopped since the connection was made is gone.
                tokio::spawn(async move {
                    let answer = match bus {
                        Ok(bus) => bus.answering().await,
                        Err(error) => Err(error),
                    };
                    let _ = reply.send(answer);
                });
            }
            FirewalldMsg::Open {
                port,
                permanent,
                record,
                known,
                reply,
            } => {
                tokio::spawn(async move {
                    let asked = Asked {
                        port,
                        permanent,
                        known,
                    };
                    let opened = match bus {
                        Ok(bus) => open(&bus, zone, asked, &record).await,
                        Err(error) => Err(error),
                    };
                    let _ = reply.send(opened);
                });
            }
            FirewalldMsg::Inspect { opening, reply } => {
                tokio::spawn(async move {
                    let seen = match bus {
                        Ok(bus) => inspect(&bus, &opening).await,
                        Err(error) => Ok(InstanceHealth::Failed {
                            reason: error.to_string(),
                        }),
                    };
                    let _ = reply.send(seen);
                });
            }
            FirewalldMsg::Close {
                record,
                known,
                reply,
            } => {
                tokio::spawn(async move {
                    let _ = reply.send(close(bus, &record, known).await);
                });
            }
        }
        Ok(())
    }
}

/// What [`FirewalldMsg::Open`] asks for.
struct Asked {
    port: FirewallPort,
    permanent: bool,
    known: Option<Opening>,
}

/// The opening Khutulun made before for `asked`'s port, by the record and the attributes.
fn recorded(record: &Path, asked: &Asked) -> Result<Option<Opening>, DelegateError> {
    let known = merged(read_record(record)?, asked.known.clone());
    Ok(known.into_iter().find(|opening| opening.port == asked.port))
}

/// Opens the asked port (see [`FirewalldMsg::Open`]): the record is written before anything
/// is opened, so an agent that dies midway finds the opening its own.
async fn open(
    bus: &FirewalldBus,
    zone: Option<String>,
    asked: Asked,
    record: &Path,
) -> Result<Opening, DelegateError> {
    let before = recorded(record, &asked)?;
    let port = asked.port;
    let zone = match (&before, zone) {
        (Some(before), _) => before.zone.clone(),
        (None, Some(zone)) => zone,
        (None, None) => bus.default_zone().await?,
    };
    let ours = before.map_or_else(Layers::default, |before| before.owned);
    let wanted = Layers::wanted(asked.permanent);
    let open_now = bus
        .open_layers(&zone, port, wanted.permanent || ours.permanent)
        .await?;
    let plan = open_plan(wanted, open_now, ours);
    let mut opening = Opening {
        zone,
        port,
        owned: plan.owned.union(plan.close),
        wanted,
    };
    write_record(record, &opening)?;
    bus.open(&opening.zone, port, plan.open).await?;
    bus.close(&opening.zone, port, plan.close).await?;
    if plan.close != Layers::default() {
        opening.owned = plan.owned;
        write_record(record, &opening)?;
    }
    info!(zone = %opening.zone, %port, opened = plan.open.name(), owned = opening.owned.name(), "firewalld opening");
    Ok(opening)
}

/// Whether every wanted layer of `opening` is open (by whoever's rule).
async fn inspect(bus: &FirewalldBus, opening: &Opening) -> Result<InstanceHealth, DelegateError> {
    let open_now = bus
        .open_layers(&opening.zone, opening.port, opening.wanted.permanent)
        .await?;
    let gone = missing(opening.wanted, open_now);
    if gone == Layers::default() {
        return Ok(InstanceHealth::Running);
    }
    Ok(InstanceHealth::Failed {
        reason: format!(
            "{} is no longer open in firewalld zone {} ({}); a firewalld reload removes what is not permanent, and an agent restart opens it again",
            opening.port,
            opening.zone,
            gone.name()
        ),
    })
}

/// Closes what Khutulun owns of the openings recorded at `record` and known from the
/// attributes (see [`FirewalldMsg::Close`]).
async fn close(
    bus: Result<FirewalldBus, DelegateError>,
    record: &Path,
    known: Option<Opening>,
) -> Result<(), DelegateError> {
    let mut openings = merged(read_record(record)?, known);
    openings.retain(|opening| opening.owned != Layers::default());
    if !openings.is_empty() {
        let bus = match bus {
            Ok(bus) => bus,
            Err(error) => return close_without_firewalld(&openings, error, record),
        };
        for opening in &openings {
            let open_now = bus
                .open_layers(&opening.zone, opening.port, opening.owned.permanent)
                .await?;
            let closing = close_plan(opening.owned, open_now);
            bus.close(&opening.zone, opening.port, closing).await?;
            info!(zone = %opening.zone, port = %opening.port, closed = closing.name(), "firewalld opening closed");
        }
    }
    remove_record(record)
}

/// Without Firewalld, running openings are gone with it; a permanent one cannot be removed
/// and the delete fails, saying so.
fn close_without_firewalld(
    openings: &[Opening],
    why: DelegateError,
    record: &Path,
) -> Result<(), DelegateError> {
    if let Some(opening) = openings.iter().find(|o| o.owned.permanent) {
        return Err(DelegateError::Unavailable(format!(
            "cannot remove Khutulun's permanent opening of {} in firewalld zone {} ({why}); start firewalld and delete again",
            opening.port, opening.zone
        )));
    }
    warn!(%why, "firewalld is gone, and its running openings with it");
    remove_record(record)
}
