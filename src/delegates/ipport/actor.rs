//! The ipport delegate's actor.

use std::ops::RangeInclusive;
use std::sync::{Arc, OnceLock};

use ractor::{Actor, ActorProcessingErr, ActorRef};

use crate::delegates::firewalld::FirewalldMsg;

use super::ingress;
use super::ledger::PortLedger;
use super::message::IpPortMsg;
use super::table::is_port_free;
use crate::delegates::profile::{
    Exposure, IpEndpointProperties, PortProperties, PropertySet, Protocol, types,
};
use crate::delegates::protocol::{
    Attributes, DelegateError, DelegateMsg, ExecSource, InstanceHealth, InstanceSpec, LogSource,
    Observation, is_a,
};

/// How the ipport delegate of one host hands out ports.
#[derive(Clone)]
pub struct IpPortConfig {
    /// This host's name (tables are per host).
    pub host: String,
    /// The ports handed out when a template asks for any (`port: 0`).
    pub range: RangeInclusive<u16>,
    /// The address reported for ports whose template gives none: this host's address in the
    /// cluster (`127.0.0.1` on a one-host cluster).
    pub advertise_address: String,
    /// Where the tables are kept.
    pub ledger: Arc<dyn PortLedger>,
    /// The firewalld delegate, which opens `ingress` ports.
    pub firewalld: ActorRef<FirewalldMsg>,
    /// Whether an `ingress` port is reserved without exposure when no Firewalld answers
    /// (its attributes say so); by default it is refused.
    pub ingress_without_firewalld: bool,
}

impl IpPortConfig {
    /// The default range: 20000–29999, below Linux's ephemeral ports (32768 and up).
    pub const DEFAULT_RANGE: RangeInclusive<u16> = 20000..=29999;
}

/// The ipport delegate.
pub struct IpPortDelegate;

impl Actor for IpPortDelegate {
    type Msg = IpPortMsg;
    type State = IpPortConfig;
    type Arguments = IpPortConfig;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        config: IpPortConfig,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(config)
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        config: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            IpPortMsg::Reserve {
                owner,
                protocol,
                port,
                reply,
            } => {
                let _ = reply.send(reserve(config, owner, protocol, port).await);
            }
            IpPortMsg::Release { owner, reply } => {
                let _ = reply.send(release(config, owner).await);
            }
            IpPortMsg::Lifecycle(message) => {
                // Its own task: an ingress port waits on Firewalld, which must not hold up
                // the reservations of other instances.
                let config = config.clone();
                tokio::spawn(async move { lifecycle(&config, *message).await });
            }
        }
        Ok(())
    }
}

async fn lifecycle(config: &IpPortConfig, message: DelegateMsg) {
    match message {
        DelegateMsg::Create { spec, reply } => {
            let _ = reply.send(create(config, &spec).await);
        }
        DelegateMsg::Start {
            spec,
            attributes,
            reply,
        } => {
            let _ = reply.send(start(config, &spec, attributes).await);
        }
        DelegateMsg::Stop {
            attributes, reply, ..
        } => {
            let _ = reply.send(Ok(attributes));
        }
        DelegateMsg::Status {
            spec,
            attributes,
            reply,
        } => {
            let _ = reply.send(observe(config, &spec, attributes, false).await);
        }
        DelegateMsg::Adopt {
            spec,
            attributes,
            reply,
        } => {
            let _ = reply.send(observe(config, &spec, attributes, true).await);
        }
        DelegateMsg::Delete {
            spec,
            attributes,
            reply,
        } => {
            let _ = reply.send(delete(config, &spec, &attributes).await);
        }
        DelegateMsg::Exec { reply, .. } => {
            let _ = reply.send(Ok(ExecSource::None));
        }
        DelegateMsg::Logs { reply, .. } => {
            let _ = reply.send(Ok(LogSource::None));
        }
    }
}

/// The properties of a `Port` whose exposure is `ingress`, else `None`.
fn ingress_of(spec: &InstanceSpec) -> Result<Option<PortProperties>, DelegateError> {
    if !is_a(&spec.types, types::PORT) {
        return Ok(None);
    }
    let wanted = PortProperties::from_properties(&spec.properties, &spec.qualified_name())?;
    Ok((wanted.exposure == Exposure::Ingress).then_some(wanted))
}

/// Starts the instance: an ingress port is opened in Firewalld; nothing else has anything to
/// run.
async fn start(
    config: &IpPortConfig,
    spec: &InstanceSpec,
    attributes: Attributes,
) -> Result<Attributes, DelegateError> {
    match ingress_of(spec)? {
        Some(wanted) => ingress::expose(config, spec, &wanted, attributes).await,
        None => Ok(attributes),
    }
}

/// Deletes the instance: an ingress port's opening is closed first, then the port released.
async fn delete(
    config: &IpPortConfig,
    spec: &InstanceSpec,
    attributes: &Attributes,
) -> Result<(), DelegateError> {
    if !is_a(&spec.types, types::PORT) {
        return Ok(());
    }
    if let Some(wanted) = ingress_of(spec)? {
        ingress::conceal(config, spec, &wanted, attributes).await?;
    }
    release(config, spec.qualified_name()).await?;
    spec.remove_state_dir()
}

fn endpoint_attributes(address: &str, port: u16, protocol: Protocol) -> Attributes {
    let mut attributes = Attributes::new();
    attributes.insert("address".into(), address.into());
    attributes.insert("port".into(), port.into());
    attributes.insert("protocol".into(), protocol.to_string().into());
    attributes.insert("authority".into(), authority(address, port).into());
    attributes
}

/// `address:port`, with an IPv6 address in brackets, as URLs write it.
fn authority(address: &str, port: u16) -> String {
    if address.contains(':') && !address.starts_with('[') {
        format!("[{address}]:{port}")
    } else {
        format!("{address}:{port}")
    }
}

async fn create(config: &IpPortConfig, spec: &InstanceSpec) -> Result<Attributes, DelegateError> {
    let name = spec.qualified_name();
    if is_a(&spec.types, types::IP_ENDPOINT) {
        let endpoint = IpEndpointProperties::from_properties(&spec.properties, &name)?;
        return Ok(endpoint_attributes(
            &endpoint.address,
            endpoint.port,
            endpoint.protocol,
        ));
    }
    let wanted = PortProperties::from_properties(&spec.properties, &name)?;
    if wanted.exposure == Exposure::Ingress {
        // Refused before anything is reserved when it could not be exposed.
        ingress::check_ready(config, &name).await?;
    }
    let port = reserve(config, name, wanted.protocol, wanted.port).await?;
    let address = wanted
        .address
        .unwrap_or_else(|| config.advertise_address.clone());
    Ok(endpoint_attributes(&address, port, wanted.protocol))
}

/// Looks at the instance: a port must still be reserved, and an ingress port still open in
/// Firewalld; adopting it (`reopen`) opens again what a Firewalld reload removed.
async fn observe(
    config: &IpPortConfig,
    spec: &InstanceSpec,
    attributes: Attributes,
    reopen: bool,
) -> Result<Observation, DelegateError> {
    if !is_a(&spec.types, types::PORT) {
        return Ok(Observation {
            health: InstanceHealth::Running,
            attributes,
        });
    }
    let table = config.ledger.read(&config.host).await?;
    let owner = spec.qualified_name();
    let port = attributes
        .get("port")
        .and_then(|p| p.as_u64())
        .and_then(|p| u16::try_from(p).ok());
    let held = table.held_by(&owner).any(|r| Some(r.port) == port);
    let wanted = ingress_of(spec)?;
    let (health, attributes) = match (held, wanted) {
        (false, _) => (InstanceHealth::Missing, attributes),
        (true, None) => (InstanceHealth::Running, attributes),
        (true, Some(wanted)) if reopen => {
            match ingress::expose(config, spec, &wanted, attributes.clone()).await {
                Ok(exposed) => (InstanceHealth::Running, exposed),
                Err(error) => {
                    let reason = error.to_string();
                    (InstanceHealth::Failed { reason }, attributes)
                }
            }
        }
        (true, Some(wanted)) => (
            ingress::inspect(config, &wanted, &attributes).await?,
            attributes,
        ),
    };
    Ok(Observation { health, attributes })
}

async fn reserve(
    config: &IpPortConfig,
    owner: String,
    protocol: Protocol,
    wanted: u16,
) -> Result<u16, DelegateError> {
    // The change runs wherever the ledger keeps the table; it leaves the port it got here.
    let granted = Arc::new(OnceLock::new());
    let (slot, host, range) = (granted.clone(), config.host.clone(), config.range.clone());
    config
        .ledger
        .update(
            &config.host,
            Box::new(move |table| {
                let port = table.reserve(&owner, protocol, wanted, &range, &host, &is_port_free)?;
                let _ = slot.set(port);
                Ok(())
            }),
        )
        .await?;
    granted
        .get()
        .copied()
        .ok_or_else(|| DelegateError::Failed("the port ledger did not run the change".into()))
}

async fn release(config: &IpPortConfig, owner: String) -> Result<(), DelegateError> {
    config
        .ledger
        .update(
            &config.host,
            Box::new(move |table| {
                table.release(&owner);
                Ok(())
            }),
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::authority;

    #[test]
    fn authority_brackets_ipv6_addresses_only() {
        assert_eq!(authority("127.0.0.1", 8080), "127.0.0.1:8080");
        assert_eq!(authority("example.org", 80), "example.org:80");
        assert_eq!(authority("::1", 443), "[::1]:443");
        assert_eq!(authority("[::1]", 443), "[::1]:443");
    }
}
