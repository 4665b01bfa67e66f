//! Firewalld over D-Bus (zbus, `org.fedoraproject.FirewallD1` on the system bus): the few
//! calls Khutulun makes, each with a deadline.

use std::time::Duration;

use zbus::proxy::CacheProperties;
use zbus::{Connection, OwnedObjectPath};

use super::record::{FirewallPort, Layers};
use crate::delegates::protocol::DelegateError;

/// Firewalld's well-known name on the system bus.
const SERVICE: &str = "org.fedoraproject.FirewallD1";

#[zbus::proxy(
    interface = "org.fedoraproject.FirewallD1",
    default_service = "org.fedoraproject.FirewallD1",
    default_path = "/org/fedoraproject/FirewallD1"
)]
trait Firewalld {
    #[zbus(name = "getDefaultZone")]
    fn get_default_zone(&self) -> zbus::Result<String>;

    #[zbus(property, name = "version")]
    fn version(&self) -> zbus::Result<String>;
}

/// The running firewall's zones.
#[zbus::proxy(
    interface = "org.fedoraproject.FirewallD1.zone",
    default_service = "org.fedoraproject.FirewallD1",
    default_path = "/org/fedoraproject/FirewallD1"
)]
trait RuntimeZone {
    #[zbus(name = "addPort")]
    fn add_port(
        &self,
        zone: &str,
        port: &str,
        protocol: &str,
        timeout: i32,
    ) -> zbus::Result<String>;

    #[zbus(name = "removePort")]
    fn remove_port(&self, zone: &str, port: &str, protocol: &str) -> zbus::Result<String>;

    #[zbus(name = "queryPort")]
    fn query_port(&self, zone: &str, port: &str, protocol: &str) -> zbus::Result<bool>;
}

/// The permanent configuration: where each zone's object is.
#[zbus::proxy(
    interface = "org.fedoraproject.FirewallD1.config",
    default_service = "org.fedoraproject.FirewallD1",
    default_path = "/org/fedoraproject/FirewallD1/config"
)]
trait Config {
    #[zbus(name = "getZoneByName")]
    fn get_zone_by_name(&self, zone: &str) -> zbus::Result<OwnedObjectPath>;
}

/// One zone of the permanent configuration.
#[zbus::proxy(
    interface = "org.fedoraproject.FirewallD1.config.zone",
    default_service = "org.fedoraproject.FirewallD1"
)]
trait PermanentZone {
    #[zbus(name = "addPort")]
    fn add_port(&self, port: &str, protocol: &str) -> zbus::Result<()>;

    #[zbus(name = "removePort")]
    fn remove_port(&self, port: &str, protocol: &str) -> zbus::Result<()>;

    #[zbus(name = "queryPort")]
    fn query_port(&self, port: &str, protocol: &str) -> zbus::Result<bool>;
}

/// How long any one D-Bus call (and connecting) may take: Firewalld answers in milliseconds,
/// so one that takes longer is stuck.
pub const CALL_DEADLINE: Duration = Duration::from_secs(5);

/// Where the system bus is when neither `--firewalld-bus` nor `DBUS_SYSTEM_BUS_ADDRESS` says.
const SYSTEM_BUS: &str = "unix:path=/var/run/dbus/system_bus_socket";

/// A connection to the system bus with Firewalld on it.
#[derive(Clone, Debug)]
pub struct FirewalldBus {
    connection: Connection,
    address: String,
    version: String,
}

/// Firewalld's own error code at the start of its message (`ALREADY_ENABLED: 8080:tcp`).
fn firewalld_code(error: &zbus::Error) -> Option<&str> {
    match error {
        zbus::Error::MethodError(name, Some(detail), _) if name.as_str().starts_with(SERVICE) => {
            detail.split(':').next()
        }
        _ => None,
    }
}

/// Whether the error says nobody owns Firewalld's name on the bus.
fn is_not_on_bus(error: &zbus::Error) -> bool {
    match error {
        zbus::Error::FDO(error) => matches!(
            **error,
            zbus::fdo::Error::ServiceUnknown(_) | zbus::fdo::Error::NameHasNoOwner(_)
        ),
        zbus::Error::MethodError(name, _, _) => {
            name.as_str() == "org.freedesktop.DBus.Error.ServiceUnknown"
                || name.as_str() == "org.freedesktop.DBus.Error.NameHasNoOwner"
        }
        _ => false,
    }
}

impl FirewalldBus {
    /// Connects to the system bus at `address` (`None`: `DBUS_SYSTEM_BUS_ADDRESS`, else the
    /// usual socket) and checks that Firewalld answers there.
    pub async fn connect(address: Option<&str>) -> Result<FirewalldBus, DelegateError> {
        let address = address.map_or_else(
            || std::env::var("DBUS_SYSTEM_BUS_ADDRESS").unwrap_or_else(|_| SYSTEM_BUS.into()),
            str::to_owned,
        );
        let connecting = zbus::connection::Builder::address(address.as_str())
            .method_timeout(CALL_DEADLINE)
            .build();
        let connection = tokio::time::timeout(CALL_DEADLINE, connecting).await;
        let connection = match connection {
            Ok(Ok(connection)) => connection,
            Ok(Err(error)) => {
                return Err(DelegateError::Unavailable(format!(
                    "the system bus at {address} does not answer ({error})"
                )));
            }
            Err(_) => {
                return Err(DelegateError::Unavailable(format!(
                    "the system bus at {address} did not answer within {} s",
                    CALL_DEADLINE.as_secs()
                )));
            }
        };
        let mut bus = FirewalldBus {
            connection,
            address,
            version: String::new(),
        };
        bus.version = bus.answering().await?;
        Ok(bus)
    }

    /// Firewalld's version as it says it now: an error when it no longer answers on this
    /// bus (stopped, or restarting), though the bus itself does.
    pub async fn answering(&self) -> Result<String, DelegateError> {
        let proxy = FirewalldProxy::builder(&self.connection)
            .cache_properties(CacheProperties::No)
            .build()
            .await
            .map_err(|error| self.failed("be reached", error))?;
        proxy
            .version()
            .await
            .map_err(|error| self.failed("say its version", error))
    }

    /// Firewalld's version when the connection was made, e.g. `1.3.3`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Whether the bus closed this connection (a new one is needed).
    pub fn is_closed(&self) -> bool {
        self.connection.is_closed()
    }

    /// A failed call: [`DelegateError::Unavailable`] when Firewalld is not on the bus or the
    /// connection is gone, [`DelegateError::Failed`] when Firewalld refused.
    fn failed(&self, action: &str, error: zbus::Error) -> DelegateError {
        if is_not_on_bus(&error) {
            return DelegateError::Unavailable(format!(
                "{SERVICE} is not on the system bus at {}",
                self.address
            ));
        }
        if self.connection.is_closed() {
            return DelegateError::Unavailable(format!(
                "the system bus at {} closed the connection ({error})",
                self.address
            ));
        }
        DelegateError::Failed(format!("firewalld could not {action}: {error}"))
    }

    /// The zone Firewalld puts interfaces in that no zone names.
    pub async fn default_zone(&self) -> Result<String, DelegateError> {
        let proxy = FirewalldProxy::builder(&self.connection)
            .cache_properties(CacheProperties::No)
            .build()
            .await
            .map_err(|error| self.failed("be reached", error))?;
        proxy
            .get_default_zone()
            .await
            .map_err(|error| self.failed("say its default zone", error))
    }

    async fn runtime(&self) -> Result<RuntimeZoneProxy<'static>, DelegateError> {
        RuntimeZoneProxy::builder(&self.connection)
            .cache_properties(CacheProperties::No)
            .build()
            .await
            .map_err(|error| self.failed("be reached", error))
    }

    async fn permanent(&self, zone: &str) -> Result<PermanentZoneProxy<'static>, DelegateError> {
        let config = ConfigProxy::builder(&self.connection)
            .cache_properties(CacheProperties::No)
            .build()
            .await
            .map_err(|error| self.failed("be reached", error))?;
        let path = config
            .get_zone_by_name(zone)
            .await
            .map_err(|error| self.failed(&format!("find zone {zone}"), error))?;
        PermanentZoneProxy::builder(&self.connection)
            .path(path)
            .cache_properties(CacheProperties::No)
            .build()
            .await
            .map_err(|error| self.failed("be reached", error))
    }

    /// Which layers have `port` open in `zone` (the permanent one only when `permanent`).
    pub async fn open_layers(
        &self,
        zone: &str,
        port: FirewallPort,
        permanent: bool,
    ) -> Result<Layers, DelegateError> {
        let (number, protocol) = (port.number.to_string(), port.protocol.to_string());
        let asked = |e| self.failed(&format!("say whether {port} is open in zone {zone}"), e);
        let runtime = self
            .runtime()
            .await?
            .query_port(zone, &number, &protocol)
            .await
            .map_err(asked)?;
        let permanent = match permanent {
            true => self
                .permanent(zone)
                .await?
                .query_port(&number, &protocol)
                .await
                .map_err(asked)?,
            false => false,
        };
        Ok(Layers { runtime, permanent })
    }

    /// Opens `port` in `zone`, in the layers set in `layers` (open already is fine).
    pub async fn open(
        &self,
        zone: &str,
        port: FirewallPort,
        layers: Layers,
    ) -> Result<(), DelegateError> {
        let (number, protocol) = (port.number.to_string(), port.protocol.to_string());
        let refused = |e: zbus::Error| match firewalld_code(&e) {
            Some("ALREADY_ENABLED") => Ok(()),
            _ => Err(self.failed(&format!("open {port} in zone {zone}"), e)),
        };
        if layers.runtime {
            let opened = self.runtime().await?;
            let opened = opened.add_port(zone, &number, &protocol, 0).await;
            opened.map(drop).or_else(refused)?;
        }
        if layers.permanent {
            let zone_config = self.permanent(zone).await?;
            zone_config
                .add_port(&number, &protocol)
                .await
                .or_else(refused)?;
        }
        Ok(())
    }

    /// Closes `port` in `zone`, in the layers set in `layers` (closed already is fine).
    pub async fn close(
        &self,
        zone: &str,
        port: FirewallPort,
        layers: Layers,
    ) -> Result<(), DelegateError> {
        let (number, protocol) = (port.number.to_string(), port.protocol.to_string());
        let refused = |e: zbus::Error| match firewalld_code(&e) {
            Some("NOT_ENABLED") => Ok(()),
            _ => Err(self.failed(&format!("close {port} in zone {zone}"), e)),
        };
        if layers.runtime {
            let closed = self.runtime().await?;
            let closed = closed.remove_port(zone, &number, &protocol).await;
            closed.map(drop).or_else(refused)?;
        }
        if layers.permanent {
            let zone_config = self.permanent(zone).await?;
            zone_config
                .remove_port(&number, &protocol)
                .await
                .or_else(refused)?;
        }
        Ok(())
    }
}
