//! The ingress side of a `Port`: what the ipport delegate asks the firewalld delegate, and what
//! it does when no Firewalld answers (refuse the port, or reserve it without exposure when the
//! agent runs with `--ingress-without-firewalld`, saying so in the instance's attributes).

use std::time::Duration;

use ractor::rpc::CallResult;
use ractor::{ActorRef, RpcReplyPort};

use super::actor::IpPortConfig;
use crate::delegates::firewalld::record::RECORD_FILE;
use crate::delegates::firewalld::{FirewallPort, FirewalldMsg, Ingress, Layers, Opening};
use serde::Deserialize;

use crate::delegates::profile::{PortProperties, Protocol};
use crate::delegates::protocol::{Attributes, DelegateError, InstanceHealth, InstanceSpec};

/// How long one request to the firewalld delegate may take: a few D-Bus calls, each bounded
/// by [`crate::delegates::firewalld::CALL_DEADLINE`].
const ASK_DEADLINE: Duration = Duration::from_secs(30);

/// Asks the firewalld delegate, within [`ASK_DEADLINE`].
async fn ask<T: Send + 'static>(
    firewalld: &ActorRef<FirewalldMsg>,
    build: impl FnOnce(RpcReplyPort<Result<T, DelegateError>>) -> FirewalldMsg,
) -> Result<T, DelegateError> {
    match firewalld.call(build, Some(ASK_DEADLINE)).await {
        Ok(CallResult::Success(answer)) => answer,
        Ok(CallResult::Timeout) => Err(DelegateError::Failed(format!(
            "the firewalld delegate did not answer within {} s",
            ASK_DEADLINE.as_secs()
        ))),
        Ok(CallResult::SenderError) | Err(_) => {
            Err(DelegateError::Unreachable("the firewalld delegate".into()))
        }
    }
}

/// Why an ingress port of `name` cannot be had, when Firewalld is unavailable for `why`.
fn refusal(name: &str, why: &str) -> DelegateError {
    DelegateError::Unavailable(format!(
        "{name}: an ingress port is opened in firewalld, but {why}; start firewalld, or run the agent with --ingress-without-firewalld to reserve such ports without exposing them"
    ))
}

/// Checks, before the port is reserved, that it can be exposed: `Ok` when Firewalld answers
/// or the agent goes on without it; the refusal otherwise (nothing is reserved then).
pub async fn check_ready(config: &IpPortConfig, name: &str) -> Result<(), DelegateError> {
    match ask(&config.firewalld, |reply| FirewalldMsg::Available { reply }).await {
        Err(DelegateError::Unavailable(why)) if !config.ingress_without_firewalld => {
            Err(refusal(name, &why))
        }
        Err(DelegateError::Unavailable(_)) | Ok(_) => Ok(()),
        Err(error) => Err(error),
    }
}

/// The port of the attributes Create reported.
fn port_of(attributes: &Attributes, name: &str) -> Result<FirewallPort, DelegateError> {
    let number = attributes
        .get("port")
        .and_then(serde_json::Value::as_u64)
        .and_then(|number| u16::try_from(number).ok());
    let protocol = attributes
        .get("protocol")
        .and_then(|protocol| Protocol::deserialize(protocol).ok());
    match (number, protocol) {
        (Some(number), Some(protocol)) => Ok(FirewallPort { number, protocol }),
        _ => Err(DelegateError::Failed(format!(
            "{name}: its attributes name no port and protocol to open in firewalld"
        ))),
    }
}

/// The opening the attributes show, if they show one.
fn opening_of(attributes: &Attributes, wanted: &PortProperties) -> Option<Opening> {
    match Ingress::of_attributes(attributes, Layers::wanted(wanted.permanent)) {
        Some(Ingress::Open(opening)) => Some(opening),
        _ => None,
    }
}

/// Drops what an earlier exposure reported.
fn without_ingress(mut attributes: Attributes) -> Attributes {
    attributes.retain(|key, _| !key.starts_with("firewalld_"));
    attributes
}

/// Opens the port in Firewalld (at start, and again at adoption); its attributes then say what
/// Khutulun opened, or that it is not exposed and why.
pub async fn expose(
    config: &IpPortConfig,
    spec: &InstanceSpec,
    wanted: &PortProperties,
    attributes: Attributes,
) -> Result<Attributes, DelegateError> {
    let name = spec.qualified_name();
    let port = port_of(&attributes, &name)?;
    let record = spec.state_dir.join(RECORD_FILE);
    let permanent = wanted.permanent;
    let known = opening_of(&attributes, wanted);
    let opened = ask(&config.firewalld, |reply| FirewalldMsg::Open {
        port,
        permanent,
        record,
        known,
        reply,
    })
    .await;
    let ingress = match opened {
        Ok(opening) => Ingress::Open(opening),
        Err(DelegateError::Unavailable(reason)) if config.ingress_without_firewalld => {
            tracing::warn!(instance = %name, %reason, "ingress port reserved without exposure");
            Ingress::Unexposed { reason }
        }
        Err(DelegateError::Unavailable(why)) => return Err(refusal(&name, &why)),
        Err(error) => return Err(error),
    };
    let mut attributes = without_ingress(attributes);
    attributes.extend(ingress.attributes());
    Ok(attributes)
}

/// Whether the port is still exposed as its attributes say.
pub async fn inspect(
    config: &IpPortConfig,
    wanted: &PortProperties,
    attributes: &Attributes,
) -> Result<InstanceHealth, DelegateError> {
    match Ingress::of_attributes(attributes, Layers::wanted(wanted.permanent)) {
        Some(Ingress::Open(opening)) => {
            ask(&config.firewalld, |reply| FirewalldMsg::Inspect {
                opening,
                reply,
            })
            .await
        }
        Some(Ingress::Unexposed { .. }) | None => Ok(InstanceHealth::Running),
    }
}

/// Closes what Khutulun opened for the port (its record, and its attributes), nothing else.
pub async fn conceal(
    config: &IpPortConfig,
    spec: &InstanceSpec,
    wanted: &PortProperties,
    attributes: &Attributes,
) -> Result<(), DelegateError> {
    let known = opening_of(attributes, wanted);
    let record = spec.state_dir.join(RECORD_FILE);
    ask(&config.firewalld, |reply| FirewalldMsg::Close {
        record,
        known,
        reply,
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_to_open_comes_from_the_reported_attributes() {
        let attributes: Attributes = serde_json::from_value(serde_json::json!({
            "address": "127.0.0.1", "port": 20001, "protocol": "udp",
            "firewalld_opened": "runtime"
        }))
        .unwrap();
        assert_eq!(
            port_of(&attributes, "s/p-0").unwrap().to_string(),
            "20001/udp"
        );
        assert!(port_of(&Attributes::new(), "s/p-0").is_err());
        let kept = without_ingress(attributes);
        assert!(!kept.contains_key("firewalld_opened"));
        assert_eq!(kept["port"], 20001);
    }
}
