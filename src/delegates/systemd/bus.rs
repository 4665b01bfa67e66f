//! The user manager over D-Bus (zbus): the few calls Khutulun makes.

use std::time::Duration;

use zbus::proxy::CacheProperties;
use zbus::{Connection, OwnedObjectPath, Variant};

use super::unit::{UnitSpec, UnitStatus};
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
    interface = "org.freedesktop.systemd1.Unit",
    default_service = "org.freedesktop.systemd1"
)]
trait Unit {
    #[zbus(property)]
    fn active_state(&self) -> zbus::Result<String>;

    #[zbus(property)]
    fn sub_state(&self) -> zbus::Result<String>;
}

#[zbus::proxy(
    interface = "org.freedesktop.systemd1.Service",
    default_service = "org.freedesktop.systemd1"
)]
trait Service {
    #[zbus(property, name = "MainPID")]
    fn main_pid(&self) -> zbus::Result<u32>;

    #[zbus(property)]
    fn result(&self) -> zbus::Result<String>;

    #[zbus(property)]
    fn exec_main_status(&self) -> zbus::Result<i32>;

    #[zbus(property, name = "NRestarts")]
    fn n_restarts(&self) -> zbus::Result<u32>;
}

/// How long [`SystemdBus::run`] waits for a started unit to leave `activating`.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection to the systemd user manager.
#[derive(Clone, Debug)]
pub struct SystemdBus {
    connection: Connection,
    version: String,
}

fn failed(action: &str, error: zbus::Error) -> DelegateError {
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

impl SystemdBus {
    /// Connects to the session bus and checks that a systemd user manager answers there.
    pub async fn connect() -> Result<SystemdBus, DelegateError> {
        let address = std::env::var("DBUS_SESSION_BUS_ADDRESS").map_err(|_| {
            DelegateError::Unavailable(
                "no systemd user manager: DBUS_SESSION_BUS_ADDRESS is not set".into(),
            )
        })?;
        let connection = Connection::session().await.map_err(|e| {
            DelegateError::Unavailable(format!(
                "no systemd user manager: the session bus at {address} does not answer ({e})"
            ))
        })?;
        let manager = ManagerProxy::new(&connection).await.map_err(|e| {
            DelegateError::Unavailable(format!("no systemd user manager on {address}: {e}"))
        })?;
        let version = manager.version().await.map_err(|e| {
            DelegateError::Unavailable(format!(
                "no systemd user manager answers on the session bus at {address} ({e})"
            ))
        })?;
        Ok(SystemdBus {
            connection,
            version,
        })
    }

    /// The manager's version, e.g. `252.38-1~deb12u1`.
    pub fn version(&self) -> &str {
        &self.version
    }

    async fn manager(&self) -> Result<ManagerProxy<'static>, DelegateError> {
        ManagerProxy::new(&self.connection)
            .await
            .map_err(|e| failed("be reached", e))
    }

    /// Starts `unit` and waits until its command runs; on failure, removes it again.
    pub async fn run(&self, unit: &UnitSpec) -> Result<UnitStatus, DelegateError> {
        let manager = self.manager().await?;
        let program = unit.program.to_string_lossy().into_owned();
        let mut argv = vec![program.clone()];
        argv.extend(unit.arguments.iter().cloned());
        let exec_start = vec![(program, argv, false)];
        let working_directory = unit.working_directory.to_string_lossy().into_owned();
        let log_file = unit.log_file.to_string_lossy().into_owned();
        let restart_usec = u64::try_from(unit.restart_delay.as_micros()).unwrap_or(u64::MAX);
        let mut properties: Vec<(&str, Variant<'_>)> = vec![
            ("Description", Variant::from(unit.description.as_str())),
            ("Type", Variant::from("exec")),
            ("ExecStart", Variant::from(exec_start)),
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
        // A unit of that name left over (failed, or stopping) would make the start fail.
        self.remove(&unit.name).await?;
        manager
            .start_transient_unit(&unit.name, "fail", &properties, &[])
            .await
            .map_err(|e| failed(&format!("start unit {}", unit.name), e))?;

        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        let mut pause = Duration::from_millis(5);
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
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    /// The unit's status, or `None` when systemd does not know it (never started, or gone).
    pub async fn status(&self, name: &str) -> Result<Option<UnitStatus>, DelegateError> {
        let manager = self.manager().await?;
        let path = match manager.get_unit(name).await {
            Ok(path) => path,
            Err(error) if is_unknown_unit(&error) => return Ok(None),
            Err(error) => return Err(failed(&format!("find unit {name}"), error)),
        };
        let read = |e| failed(&format!("read the state of unit {name}"), e);
        let unit = UnitProxy::builder(&self.connection)
            .path(path.clone())
            .cache_properties(CacheProperties::No)
            .build()
            .await
            .map_err(read)?;
        let service = ServiceProxy::builder(&self.connection)
            .path(path)
            .cache_properties(CacheProperties::No)
            .build()
            .await
            .map_err(read)?;
        let answer = async {
            Ok::<_, zbus::Error>(UnitStatus {
                name: name.to_owned(),
                active_state: unit.active_state().await?,
                sub_state: unit.sub_state().await?,
                main_pid: service.main_pid().await?,
                result: service.result().await?,
                exit_status: service.exec_main_status().await?,
                restarts: service.n_restarts().await?,
            })
        };
        match answer.await {
            Ok(status) => Ok(Some(status)),
            Err(error) if is_unknown_unit(&error) => Ok(None),
            Err(error) => Err(read(error)),
        }
    }

    /// Stops the unit and removes what is left of it; already gone is `Ok`.
    pub async fn remove(&self, name: &str) -> Result<(), DelegateError> {
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
        // Wait until the stop job is done (the unit then disappears, or stays as failed).
        let deadline = tokio::time::Instant::now() + START_TIMEOUT * 9;
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
                Some(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }
}
