//! The user manager over D-Bus (zbus): the few calls Khutulun makes.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::future::try_join_all;
use tracing::{info, warn};
use zbus::proxy::CacheProperties;
use zbus::{Connection, OwnedObjectPath, OwnedVariant, Variant};

use super::unit::{UnitSpec, UnitStatus};
use crate::delegates::pauses::Pauses;
use crate::delegates::protocol::DelegateError;

#[zbus::proxy(
    interface = "org.freedesktop.systemd1.Manager",
    default_service = "org.freedesktop.systemd1",
    default_path = "/org/freedesktop/systemd1"
)]
trait Manager {
    fn start_transient_unit(
        &self,
        name: &str,
        mode: &str,
        properties: &[(&str, Variant<'_>)],
        aux: &[(&str, Vec<(&str, Variant<'_>)>)],
    ) -> zbus::Result<OwnedObjectPath>;

    fn get_unit(&self, name: &str) -> zbus::Result<OwnedObjectPath>;

    fn stop_unit(&self, name: &str, mode: &str) -> zbus::Result<OwnedObjectPath>;

    fn reset_failed_unit(&self, name: &str) -> zbus::Result<()>;

    #[zbus(property)]
    fn version(&self) -> zbus::Result<String>;
}

#[zbus::proxy(
    interface = "org.freedesktop.DBus.Properties",
    default_service = "org.freedesktop.systemd1"
)]
trait Properties {
    fn get(&self, interface: &str, name: &str) -> zbus::Result<OwnedVariant>;
}

const UNIT: &str = "org.freedesktop.systemd1.Unit";
const SERVICE: &str = "org.freedesktop.systemd1.Service";

/// The properties a [`UnitStatus`] is made of, in its fields' order. They are asked one by
/// one, all at once: `GetAll` would send some 300 properties for every check of every unit.
const STATUS_PROPERTIES: [(&str, &str); 6] = [
    (UNIT, "ActiveState"),
    (UNIT, "SubState"),
    (SERVICE, "MainPID"),
    (SERVICE, "Result"),
    (SERVICE, "ExecMainStatus"),
    (SERVICE, "NRestarts"),
];

/// A property's value as `T`, if it is one.
fn value<T: TryFrom<OwnedVariant>>(value: OwnedVariant) -> Option<T> {
    T::try_from(value).ok()
}

/// How long [`SystemdBus::run`] waits for a started unit to leave `activating`.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection to the systemd user manager, shared by its clones. When the bus drops the
/// connection (the bus daemon restarted, or the socket broke), the next call connects again
/// once and retries, so one lost connection does not fail every later call.
#[derive(Clone, Debug)]
pub struct SystemdBus {
    connection: Arc<Mutex<Connection>>,
    version: String,
}

/// Whether the error says the connection itself is gone (not that systemd refused the call).
fn is_connection_lost(error: &zbus::Error) -> bool {
    use std::io::ErrorKind;
    match error {
        zbus::Error::InputOutput(error) | zbus::Error::Connection(error, _) => matches!(
            error.kind(),
            ErrorKind::BrokenPipe
                | ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::NotConnected
                | ErrorKind::UnexpectedEof
        ),
        _ => false,
    }
}

/// A failed call; a lost connection is [`DelegateError::Unavailable`], which
/// [`SystemdBus`] answers by connecting again.
fn failed(action: &str, error: zbus::Error) -> DelegateError {
    if is_connection_lost(&error) {
        return DelegateError::Unavailable(format!(
            "the connection to the systemd user manager was lost while trying to {action}: {error}"
        ));
    }
    DelegateError::Failed(format!("systemd could not {action}: {error}"))
}

fn is_unknown_unit(error: &zbus::Error) -> bool {
    match error {
        zbus::Error::MethodError(name, _, _) => {
            name.as_str() == "org.freedesktop.systemd1.NoSuchUnit"
                || name.as_str() == "org.freedesktop.DBus.Error.UnknownObject"
        }
        _ => false,
    }
}

/// How a person gives the agent a user manager, in one clause: the agent supervises processes
/// itself meanwhile.
const START_A_USER_MANAGER: &str = "where systemd is PID 1, `loginctl enable-linger $USER` \
    keeps a manager for the user (its bus is /run/user/$(id -u)/bus); elsewhere start a \
    session bus and a manager: `mkdir -p /run/systemd/system; dbus-daemon --session \
    --address=unix:path=$XDG_RUNTIME_DIR/bus --fork; /lib/systemd/systemd --user &` with \
    XDG_RUNTIME_DIR and DBUS_SESSION_BUS_ADDRESS set for the agent too (until then the agent \
    supervises processes itself)";

impl SystemdBus {
    /// Connects to the session bus (`DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus`,
    /// else `/run/user/<uid>/bus`) and checks that a systemd user manager answers there.
    pub async fn connect() -> Result<SystemdBus, DelegateError> {
        let (connection, version) = Self::open().await?;
        Ok(SystemdBus {
            connection: Arc::new(Mutex::new(connection)),
            version,
        })
    }

    /// A new connection to the session bus, and the version of the manager answering there.
    async fn open() -> Result<(Connection, String), DelegateError> {
        let address = std::env::var("DBUS_SESSION_BUS_ADDRESS").unwrap_or_else(|_| {
            let runtime = std::env::var("XDG_RUNTIME_DIR")
                .unwrap_or_else(|_| format!("/run/user/{}", nix::unistd::geteuid()));
            format!("unix:path={runtime}/bus")
        });
        let connection = Connection::session().await.map_err(|e| {
            DelegateError::Unavailable(format!(
                "no systemd user manager: the session bus at {address} does not answer ({e}); \
                 {START_A_USER_MANAGER}"
            ))
        })?;
        let manager = ManagerProxy::new(&connection).await.map_err(|e| {
            DelegateError::Unavailable(format!(
                "no systemd user manager on {address}: {e}; {START_A_USER_MANAGER}"
            ))
        })?;
        let version = manager.version().await.map_err(|e| {
            DelegateError::Unavailable(format!(
                "no systemd user manager answers on the session bus at {address} ({e}); \
                 {START_A_USER_MANAGER}"
            ))
        })?;
        Ok((connection, version))
    }

    /// The connection calls use now.
    fn connection(&self) -> Connection {
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether the shared connection is known to be closed (the next call connects again).
    pub fn is_closed(&self) -> bool {
        self.connection().is_closed()
    }

    /// Runs `call` on the current connection; when the connection turns out to be lost,
    /// connects again once and runs it again.
    async fn with_reconnect<T, F, Fut>(&self, call: F) -> Result<T, DelegateError>
    where
        F: Fn(Link) -> Fut,
        Fut: Future<Output = Result<T, DelegateError>>,
    {
        let connection = self.connection();
        if !connection.is_closed() {
            match call(Link(connection.clone())).await {
                Err(DelegateError::Unavailable(why)) => {
                    warn!("{why}; connecting to the session bus again");
                }
                Err(_) if connection.is_closed() => {
                    warn!("the session bus closed the connection; connecting again");
                }
                answer => return answer,
            }
        }
        let connection = self.reconnect(&connection).await?;
        call(Link(connection)).await
    }

    /// Replaces `broken` with a new connection, unless another call did so already.
    async fn reconnect(&self, broken: &Connection) -> Result<Connection, DelegateError> {
        let current = self.connection();
        if current.unique_name() != broken.unique_name() && !current.is_closed() {
            return Ok(current);
        }
        let (fresh, version) = Self::open().await?;
        info!(version, "connected to the systemd user manager again");
        *self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = fresh.clone();
        Ok(fresh)
    }

    /// The manager's version, e.g. `252.38-1~deb12u1`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Starts `unit` and waits until its command runs; on failure, removes it again.
    pub async fn run(&self, unit: &UnitSpec) -> Result<UnitStatus, DelegateError> {
        self.with_reconnect(move |link| async move { link.run(unit).await })
            .await
    }

    /// The unit's status, or `None` when systemd does not know it (never started, or gone).
    pub async fn status(&self, name: &str) -> Result<Option<UnitStatus>, DelegateError> {
        self.with_reconnect(move |link| async move { link.status(name).await })
            .await
    }

    /// Stops the unit and removes what is left of it; already gone is `Ok`.
    pub async fn remove(&self, name: &str) -> Result<(), DelegateError> {
        self.with_reconnect(move |link| async move { link.remove(name).await })
            .await
    }
}

/// One connection, for the calls of one attempt.
struct Link(Connection);

impl Link {
    async fn manager(&self) -> Result<ManagerProxy<'static>, DelegateError> {
        ManagerProxy::new(&self.0)
            .await
            .map_err(|e| failed("be reached", e))
    }

    /// Starts `unit` and waits until its command runs; on failure, removes it again.
    async fn run(&self, unit: &UnitSpec) -> Result<UnitStatus, DelegateError> {
        let manager = self.manager().await?;
        let program = unit.program.to_string_lossy().into_owned();
        let mut argv = vec![program.clone()];
        argv.extend(unit.arguments.iter().cloned());
        // ExecStartEx with `no-env-expand`: systemd must not expand `$VAR` or `$$` in the
        // arguments (the program gets them exactly as the template wrote them).
        let exec_start = vec![(program, argv, vec!["no-env-expand".to_owned()])];
        let working_directory = unit.working_directory.to_string_lossy().into_owned();
        let log_file = unit.log_file.to_string_lossy().into_owned();
        let restart_usec = u64::try_from(unit.restart_delay.as_micros()).unwrap_or(u64::MAX);
        let mut properties: Vec<(&str, Variant<'_>)> = vec![
            ("Description", Variant::from(unit.description.as_str())),
            ("Type", Variant::from("exec")),
            ("ExecStartEx", Variant::from(exec_start)),
            ("Restart", Variant::from(unit.restart.systemd_name())),
            ("RestartUSec", Variant::from(restart_usec)),
            (
                "WorkingDirectory",
                Variant::from(working_directory.as_str()),
            ),
            ("Environment", Variant::from(unit.environment.clone())),
            (
                "StandardOutputFileToAppend",
                Variant::from(log_file.as_str()),
            ),
            (
                "StandardErrorFileToAppend",
                Variant::from(log_file.as_str()),
            ),
        ];
        if let Some(user) = &unit.user {
            properties.push(("User", Variant::from(user.as_str())));
        }
        if let Some(command) = unit.on_started.as_ref().filter(|c| !c.is_empty()) {
            // `privileged` (`+`): not as the unit's user; `ignore-failure` (`-`): never fails it.
            let flags = vec!["privileged".to_owned(), "ignore-failure".to_owned()];
            let post = vec![(command[0].clone(), command.clone(), flags)];
            properties.push(("ExecStartPostEx", Variant::from(post)));
        }
        // A unit of that name left over (failed, or stopping) would make the start fail.
        self.remove(&unit.name).await?;
        manager
            .start_transient_unit(&unit.name, "fail", &properties, &[])
            .await
            .map_err(|e| failed(&format!("start unit {}", unit.name), e))?;

        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        let mut pauses = Pauses::new(Duration::from_millis(5), Duration::from_millis(200));
        loop {
            let status = self.status(&unit.name).await?;
            let problem = match &status {
                Some(status) if status.is_running() => return Ok(status.clone()),
                Some(status)
                    if status.sub_state == "auto-restart" || status.active_state == "failed" =>
                {
                    Some(format!(
                        "unit {} ended at once ({}, status {}); its output is in {}",
                        unit.name,
                        status.result,
                        status.exit_status,
                        unit.log_file.display()
                    ))
                }
                Some(status) if status.active_state == "active" => Some(format!(
                    "unit {} ended at once ({}); its output is in {}",
                    unit.name,
                    status.result,
                    unit.log_file.display()
                )),
                Some(_) if tokio::time::Instant::now() < deadline => None,
                Some(status) => Some(format!(
                    "unit {} did not start within {} s (it is {}/{})",
                    unit.name,
                    START_TIMEOUT.as_secs(),
                    status.active_state,
                    status.sub_state
                )),
                None => Some(format!(
                    "unit {} ended at once and is gone; its output is in {}",
                    unit.name,
                    unit.log_file.display()
                )),
            };
            if let Some(problem) = problem {
                self.remove(&unit.name).await?;
                return Err(DelegateError::Failed(problem));
            }
            pauses.wait().await;
        }
    }

    /// The unit's status, or `None` when systemd does not know it (never started, or gone).
    async fn status(&self, name: &str) -> Result<Option<UnitStatus>, DelegateError> {
        let manager = self.manager().await?;
        let path = match manager.get_unit(name).await {
            Ok(path) => path,
            Err(error) if is_unknown_unit(&error) => return Ok(None),
            Err(error) => return Err(failed(&format!("find unit {name}"), error)),
        };
        let read = |e| failed(&format!("read the state of unit {name}"), e);
        let properties = PropertiesProxy::builder(&self.0)
            .path(path)
            .cache_properties(CacheProperties::No)
            .build()
            .await
            .map_err(read)?;
        let asked = STATUS_PROPERTIES
            .iter()
            .map(|(interface, name)| properties.get(interface, name));
        let answers = match try_join_all(asked).await {
            Ok(answers) => <[OwnedVariant; 6]>::try_from(answers),
            Err(error) if is_unknown_unit(&error) => return Ok(None),
            Err(error) => return Err(read(error)),
        };
        // One answer per property asked, always; none read means the unit went away.
        let Ok(
            [
                active_state,
                sub_state,
                main_pid,
                result,
                exit_status,
                restarts,
            ],
        ) = answers
        else {
            return Ok(None);
        };
        let Some(active_state) = value::<String>(active_state) else {
            // The unit went away between the calls.
            return Ok(None);
        };
        Ok(Some(UnitStatus {
            name: name.to_owned(),
            active_state,
            sub_state: value(sub_state).unwrap_or_default(),
            main_pid: value(main_pid).unwrap_or(0),
            result: value(result).unwrap_or_default(),
            exit_status: value(exit_status).unwrap_or(0),
            restarts: value(restarts).unwrap_or(0),
        }))
    }

    /// Stops the unit and removes what is left of it; already gone is `Ok`.
    async fn remove(&self, name: &str) -> Result<(), DelegateError> {
        let manager = self.manager().await?;
        let Some(status) = self.status(name).await? else {
            return Ok(());
        };
        if status.active_state != "inactive" && status.active_state != "failed" {
            match manager.stop_unit(name, "replace").await {
                Ok(_) => {}
                Err(error) if is_unknown_unit(&error) => return Ok(()),
                Err(error) => return Err(failed(&format!("stop unit {name}"), error)),
            }
        }
        // Wait until the stop job is done (the unit then disappears, or stays as failed):
        // looked at soon, then less often, as a start is (most stops take milliseconds, and
        // an update replacing a unit waits for this one).
        let deadline = tokio::time::Instant::now() + START_TIMEOUT * 9;
        let mut pauses = Pauses::new(Duration::from_millis(2), Duration::from_millis(50));
        loop {
            match self.status(name).await? {
                None => return Ok(()),
                Some(status)
                    if status.active_state == "failed" || status.active_state == "inactive" =>
                {
                    return match manager.reset_failed_unit(name).await {
                        Ok(()) => Ok(()),
                        Err(error) if is_unknown_unit(&error) => Ok(()),
                        Err(error) => Err(failed(&format!("reset unit {name}"), error)),
                    };
                }
                Some(status) if tokio::time::Instant::now() >= deadline => {
                    return Err(DelegateError::Failed(format!(
                        "unit {name} did not stop within {} s (it is {}/{})",
                        (START_TIMEOUT * 9).as_secs(),
                        status.active_state,
                        status.sub_state
                    )));
                }
                Some(_) => pauses.wait().await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_socket_counts_as_a_lost_connection_and_a_refusal_does_not() {
        let broken = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert!(is_connection_lost(&zbus::Error::InputOutput(Arc::new(
            broken
        ))));
        assert!(matches!(
            failed(
                "read",
                zbus::Error::InputOutput(Arc::new(std::io::Error::from(
                    std::io::ErrorKind::UnexpectedEof
                )))
            ),
            DelegateError::Unavailable(_)
        ));
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(!is_connection_lost(&zbus::Error::InputOutput(Arc::new(
            denied
        ))));
        assert!(matches!(
            failed("read", zbus::Error::InvalidReply),
            DelegateError::Failed(_)
        ));
    }

    /// Needs a user manager (`scripts/test` starts one); without one it says so and passes,
    /// unless KHUTULUN_REQUIRE_SYSTEMD=1.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_closed_connection_is_made_again_by_the_next_call() {
        let bus = match SystemdBus::connect().await {
            Ok(bus) => bus,
            Err(why) if std::env::var("KHUTULUN_REQUIRE_SYSTEMD").as_deref() == Ok("1") => {
                panic!("KHUTULUN_REQUIRE_SYSTEMD=1 but {why}")
            }
            Err(why) => {
                eprintln!("\n!!! SKIPPED: {why} (scripts/test starts one)\n");
                return;
            }
        };
        let unknown = format!("khutulun-never-started-{}.service", std::process::id());
        assert_eq!(bus.status(&unknown).await.unwrap(), None);

        let first = bus.connection();
        let clone = bus.clone();
        first.clone().close().await.unwrap();
        assert!(
            bus.is_closed(),
            "closing did not close the shared connection"
        );

        // The clone made before the loss shares the slot: it reconnects for both.
        assert_eq!(clone.status(&unknown).await.unwrap(), None);
        assert!(!bus.is_closed());
        assert_ne!(bus.connection().unique_name(), first.unique_name());
        assert_eq!(bus.status(&unknown).await.unwrap(), None);
    }
}
