//! A `LoadBalancer` is HAProxy run as a process: its configuration is written from the
//! instance's requirements (a `bind` per port it requires as `connection`, a `server` per
//! endpoint it requires as `backend`, each checked by HAProxy itself) into its private
//! directory, and the instance is then run like a `Process` whose command is `haproxy -W -db`
//! (master-worker, in the foreground). A changed configuration is reloaded through the
//! master's command socket: new workers take new connections, old ones finish theirs. A
//! signal would do the same, but one that arrives while the master is still starting is lost;
//! a command waits in the socket until the master reads it. The configuration file holds only
//! what HAProxy was given: a reload that could not be asked leaves the old one, so the next
//! look at the instance asks again.

use std::fmt::Write;
use std::path::PathBuf;

use super::launch::find_program;
use crate::delegates::profile::{
    BalanceAlgorithm, LoadBalancerProperties, ProcessProperties, PropertySet, types,
};
use crate::delegates::protocol::{DelegateError, DelegateMsg, Dependency, InstanceSpec, is_a};

/// The configuration file in the instance's private directory.
pub const CONFIG_FILE: &str = "haproxy.cfg";

/// The master's command socket in the instance's private directory.
const MASTER_SOCKET: &str = "haproxy-master.sock";

/// How long asking the master to reload may take.
const RELOAD_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// The program a load balancer runs.
const HAPROXY: &str = "haproxy";

/// Whether the instance is a load balancer (run through this module).
pub fn is_balancer(spec: &InstanceSpec) -> bool {
    is_a(&spec.types, types::LOAD_BALANCER)
}

/// Where the instance's configuration is written.
pub fn config_path(spec: &InstanceSpec) -> PathBuf {
    spec.state_dir.join(CONFIG_FILE)
}

/// The instance as the process delegate runs it: a `Process` running HAProxy on its
/// configuration file, with the balancer's restart policy.
pub fn as_process(spec: &InstanceSpec) -> Result<InstanceSpec, DelegateError> {
    let name = spec.qualified_name();
    let balancer = LoadBalancerProperties::from_properties(&spec.properties, &name)?;
    let config = config_path(spec).to_string_lossy().into_owned();
    let socket = spec.state_dir.join(MASTER_SOCKET);
    let socket = socket.to_string_lossy();
    let process = ProcessProperties {
        command: HAPROXY.to_owned(),
        arguments: ["-W", "-db", "-S", &socket, "-f", &config]
            .map(str::to_owned)
            .to_vec(),
        restart: balancer.restart,
        ..ProcessProperties::default()
    };
    let properties = serde_json::to_value(&process)
        .ok()
        .and_then(|value| value.as_object().cloned())
        .unwrap_or_default();
    Ok(InstanceSpec {
        properties,
        ..spec.clone()
    })
}

/// Makes a load balancer's operation a process's: before it is created or started its
/// configuration is written, and each time it is looked at a changed configuration (a backend
/// moved) is written and reloaded. `None` when the operation was refused (and answered).
pub fn prepare(mut message: DelegateMsg) -> Option<DelegateMsg> {
    if !is_balancer(message.spec_mut()) {
        return Some(message);
    }
    let written = match &message {
        DelegateMsg::Create { spec, .. } => installed().and_then(|()| write_config(spec).map(drop)),
        DelegateMsg::Start { spec, .. } => write_config(spec).map(drop),
        DelegateMsg::Status { spec, .. } => refresh(spec),
        _ => Ok(()),
    };
    let process = written.and_then(|()| as_process(message.spec_mut()));
    match process {
        Ok(process) => {
            *message.spec_mut() = process;
            Some(message)
        }
        Err(error) => {
            message.refuse(error);
            None
        }
    }
}

/// Whether HAProxy is installed here, or why a load balancer cannot run.
fn installed() -> Result<(), DelegateError> {
    installed_in(&std::env::var("PATH").unwrap_or_default())
}

/// Whether HAProxy is on `path` (a PATH value).
fn installed_in(path: &str) -> Result<(), DelegateError> {
    match find_program(HAPROXY, path, std::path::Path::new("/")) {
        Some(_) => Ok(()),
        None => Err(DelegateError::Failed(
            "a LoadBalancer runs HAProxy, which is not installed on this host \
             (Debian: apt-get install haproxy)"
                .into(),
        )),
    }
}

/// Writes the instance's configuration (before HAProxy starts); what was there before, when
/// it changed.
fn write_config(spec: &InstanceSpec) -> Result<Option<String>, DelegateError> {
    let text = config(spec)?;
    let path = config_path(spec);
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    if old == text {
        return Ok(None);
    }
    replace(&path, &text)?;
    Ok(Some(old))
}

/// Puts `text` in the file at `path`, whole, never half written.
fn replace(path: &std::path::Path, text: &str) -> Result<(), DelegateError> {
    let io = |what: &str, e| DelegateError::io(format!("{what} {}", path.display()), e);
    if let Some(directory) = path.parent() {
        std::fs::create_dir_all(directory).map_err(|e| io("create the directory of", e))?;
    }
    let partial = path.with_extension("cfg.new");
    std::fs::write(&partial, text).map_err(|e| io("write", e))?;
    std::fs::rename(&partial, path).map_err(|e| io("replace", e))
}

/// Brings a running HAProxy to the configuration its requirements make now: when it changed
/// (a backend moved), writes it and asks the master to reload; when that cannot be asked,
/// puts the old file back, so the next look asks again.
fn refresh(spec: &InstanceSpec) -> Result<(), DelegateError> {
    let Some(old) = write_config(spec)? else {
        return Ok(());
    };
    let instance = spec.qualified_name();
    match ask_reload(&spec.state_dir.join(MASTER_SOCKET)) {
        Ok(()) => tracing::info!(%instance, "load balancer reloaded: its backends changed"),
        Err(error) => {
            tracing::warn!(%instance, %error, "could not ask the load balancer to reload; trying again at its next check");
            replace(&config_path(spec), &old)?;
        }
    }
    Ok(())
}

/// Sends `reload` to HAProxy's master command socket at `socket`.
fn ask_reload(socket: &std::path::Path) -> std::io::Result<()> {
    use std::io::Write;
    let mut connection = std::os::unix::net::UnixStream::connect(socket)?;
    connection.set_write_timeout(Some(RELOAD_PATIENCE))?;
    connection.write_all(b"reload\n")
}

/// An endpoint's `address:port` from its instance's attributes, as HAProxy writes it.
fn endpoint(dependency: &Dependency) -> Result<String, String> {
    let attributes = &dependency.target_attributes;
    let address = attributes.get("address").and_then(|a| a.as_str());
    let port = attributes.get("port").and_then(|p| p.as_u64());
    match (address, port) {
        (Some(address), Some(port)) if address.contains(':') => Ok(format!("[{address}]:{port}")),
        (Some(address), Some(port)) => Ok(format!("{address}:{port}")),
        _ => Err(format!(
            "{} reports no address and port yet",
            dependency.target
        )),
    }
}

/// HAProxy's name for an algorithm.
fn balance(algorithm: BalanceAlgorithm) -> &'static str {
    match algorithm {
        BalanceAlgorithm::RoundRobin => "roundrobin",
        BalanceAlgorithm::LeastConnections => "leastconn",
        BalanceAlgorithm::SourceHash => "source",
    }
}

/// The configuration HAProxy runs with for this instance.
pub fn config(spec: &InstanceSpec) -> Result<String, DelegateError> {
    let name = spec.qualified_name();
    let invalid = |message: String| DelegateError::InvalidProperties {
        instance: name.clone(),
        message,
    };
    let balancer = LoadBalancerProperties::from_properties(&spec.properties, &name)?;
    let endpoints = |requirement: &str| -> Result<Vec<(String, String)>, DelegateError> {
        spec.requirements
            .iter()
            .filter(|d| d.requirement == requirement)
            .map(|d| Ok((d.target.clone(), endpoint(d).map_err(&invalid)?)))
            .collect()
    };
    let (binds, backends) = (endpoints("connection")?, endpoints("backend")?);
    if binds.is_empty() {
        return Err(invalid(
            "a load balancer needs a port to listen on, required as `connection`".into(),
        ));
    }
    let interval = balancer.check_interval.0.as_millis().max(1);
    let mut text = String::new();
    let mut line = |l: &str| {
        let _ = writeln!(text, "{l}");
    };
    line(&format!("# Written by Khutulun for {name}; do not edit."));
    line("global");
    line("    hard-stop-after 30s");
    line("defaults");
    line("    mode tcp");
    line("    timeout connect 2s");
    line("    timeout client 1m");
    line("    timeout server 1m");
    // A connection a backend refuses is tried again, on another backend.
    line("    retries 3");
    line("    option redispatch 1");
    line("frontend in");
    for (_, address) in &binds {
        line(&format!("    bind {address}"));
    }
    line("    default_backend servers");
    line("backend servers");
    line(&format!("    balance {}", balance(balancer.algorithm)));
    if let Some(path) = &balancer.check_path {
        line("    option httpchk");
        line(&format!("    http-check send meth GET uri {path}"));
    }
    for (target, address) in &backends {
        line(&format!(
            "    server {target} {address} check inter {interval}ms fall {} rise 1",
            balancer.check_failures
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delegates::protocol::{Attributes, TypeRef};

    fn khutulun(name: &str) -> TypeRef {
        TypeRef {
            profile: Some("khutulun".into()),
            name: name.into(),
        }
    }

    fn dependency(requirement: &str, target: &str, address: &str, port: u16) -> Dependency {
        let mut attributes = serde_json::Map::new();
        attributes.insert("address".into(), address.into());
        attributes.insert("port".into(), port.into());
        Dependency {
            requirement: requirement.into(),
            target: target.into(),
            target_node: target.trim_end_matches(char::is_numeric).into(),
            target_types: vec![khutulun(types::PORT)],
            target_attributes: attributes,
            relationship_types: vec![khutulun(types::CONNECTS_TO)],
            relationship_properties: Default::default(),
        }
    }

    fn balancer(properties: serde_json::Value, requirements: Vec<Dependency>) -> InstanceSpec {
        InstanceSpec {
            namespace: "default".into(),
            service: "shop".into(),
            instance: "lb-0".into(),
            node: "lb".into(),
            types: vec![khutulun(types::LOAD_BALANCER), khutulun(types::WORKLOAD)],
            properties: properties.as_object().cloned().unwrap_or_default(),
            requirements,
            state_dir: "/state/lb-0".into(),
            artifacts: Default::default(),
        }
    }

    #[test]
    fn the_configuration_follows_the_requirements_and_properties() {
        let requirements = vec![
            dependency("connection", "front-0", "127.0.0.1", 20000),
            dependency("backend", "port-0", "10.0.0.1", 20001),
            dependency("backend", "port-1", "fd00::2", 20002),
        ];
        let properties = serde_json::json!({
            "algorithm": "least-connections",
            "check_interval": "500 ms",
            "check_path": "/health",
        });
        let text = config(&balancer(properties, requirements)).unwrap();
        for expected in [
            "    bind 127.0.0.1:20000\n",
            "    balance leastconn\n",
            "    http-check send meth GET uri /health\n",
            "    server port-0 10.0.0.1:20001 check inter 500ms fall 2 rise 1\n",
            "    server port-1 [fd00::2]:20002 check inter 500ms fall 2 rise 1\n",
            "    option redispatch 1\n",
        ] {
            assert!(text.contains(expected), "{expected:?} in\n{text}");
        }
        let tcp = config(&balancer(
            serde_json::json!({}),
            vec![dependency("connection", "front-0", "127.0.0.1", 20000)],
        ))
        .unwrap();
        assert!(
            tcp.contains("balance roundrobin") && !tcp.contains("httpchk"),
            "{tcp}"
        );
    }

    #[test]
    fn a_balancer_without_a_port_or_with_an_unready_backend_is_refused() {
        let none = config(&balancer(serde_json::json!({}), vec![])).unwrap_err();
        assert!(none.to_string().contains("a port to listen on"), "{none}");
        let mut unready = dependency("backend", "port-0", "127.0.0.1", 1);
        unready.target_attributes.clear();
        let requirements = vec![dependency("connection", "f-0", "127.0.0.1", 2), unready];
        let error = config(&balancer(serde_json::json!({}), requirements)).unwrap_err();
        assert!(
            error.to_string().contains("port-0 reports no address"),
            "{error}"
        );
    }

    /// A server on a free port of 127.0.0.1 that writes `word` to every connection.
    fn server(word: &'static str) -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut connection in listener.incoming().flatten() {
                let _ = std::io::Write::write_all(&mut connection, word.as_bytes());
            }
        });
        port
    }

    fn free_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    /// What the server behind `port` says, if one answers.
    fn said(port: u16) -> Option<String> {
        let mut connection = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        let mut text = String::new();
        std::io::Read::read_to_string(&mut connection, &mut text).ok()?;
        Some(text)
    }

    fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !done() {
            assert!(
                std::time::Instant::now() < deadline,
                "gave up waiting for {what}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Runs a lifecycle message through [`prepare`]; the spec it leaves, or the refusal.
    fn prepared(
        build: impl FnOnce(ractor::RpcReplyPort<Result<Attributes, DelegateError>>) -> DelegateMsg,
    ) -> Result<InstanceSpec, DelegateError> {
        let (reply, answer) = ractor::concurrency::oneshot();
        match prepare(build(reply.into())) {
            Some(mut message) => Ok(message.spec_mut().clone()),
            None => Err(answer.blocking_recv().unwrap().unwrap_err()),
        }
    }

    #[test]
    fn a_changed_backend_is_reloaded_in_place() {
        if installed().is_err() {
            assert_ne!(
                std::env::var("KHUTULUN_REQUIRE_HAPROXY").as_deref(),
                Ok("1"),
                "KHUTULUN_REQUIRE_HAPROXY=1 but haproxy is not installed"
            );
            eprintln!("\n!!! SKIPPED: haproxy is not installed (scripts/test installs it)\n");
            return;
        }
        let state = tempfile::tempdir().unwrap();
        let (first, second, front) = (server("first"), server("second"), free_port());
        let spec = |backend: u16| InstanceSpec {
            state_dir: state.path().to_owned(),
            ..balancer(
                serde_json::json!({ "check_interval": "200 ms" }),
                vec![
                    dependency("connection", "front-0", "127.0.0.1", front),
                    dependency("backend", "port-0", "127.0.0.1", backend),
                ],
            )
        };
        let process = prepared(|reply| DelegateMsg::Create {
            spec: spec(first),
            reply,
        })
        .unwrap();
        let plan = crate::delegates::process::LaunchPlan::of(&process).unwrap();
        let mut haproxy = Running(
            std::process::Command::new(&plan.program)
                .args(&plan.arguments)
                .current_dir(state.path())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        );
        wait_until("the first backend behind HAProxy", || {
            said(front).as_deref() == Some("first")
        });

        // Looked at again and again, as the agent's checks do, until the master took the
        // reload (while it is still starting its socket may not answer yet).
        let written = format!("127.0.0.1:{second}");
        wait_until("the reload asked", || {
            assert!(look(spec(second)).is_some());
            let text = std::fs::read_to_string(state.path().join(CONFIG_FILE)).unwrap();
            text.contains(&written)
        });
        wait_until("the second backend after the reload", || {
            said(front).as_deref() == Some("second")
        });
        assert!(
            haproxy.0.try_wait().unwrap().is_none(),
            "the same HAProxy runs on"
        );
    }

    /// HAProxy, killed when the test ends however it ends.
    struct Running(std::process::Child);

    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// Looks at a running balancer (`Status`) through [`prepare`].
    fn look(spec: InstanceSpec) -> Option<DelegateMsg> {
        let (reply, _) = ractor::concurrency::oneshot();
        prepare(DelegateMsg::Status {
            spec,
            attributes: Attributes::new(),
            reply: reply.into(),
        })
    }

    #[test]
    fn a_reload_that_cannot_be_asked_is_asked_again_at_the_next_look() {
        let state = tempfile::tempdir().unwrap();
        let spec = |backend: u16| InstanceSpec {
            state_dir: state.path().to_owned(),
            ..balancer(
                serde_json::json!({}),
                vec![
                    dependency("connection", "front-0", "127.0.0.1", 20000),
                    dependency("backend", "port-0", "127.0.0.1", backend),
                ],
            )
        };
        replace(&config_path(&spec(20001)), &config(&spec(20001)).unwrap()).unwrap();
        // No HAProxy answers on its socket: the file keeps what HAProxy was given.
        assert!(look(spec(20002)).is_some());
        let text = std::fs::read_to_string(config_path(&spec(20001))).unwrap();
        assert!(text.contains("127.0.0.1:20001"), "{text}");
        assert!(!text.contains("127.0.0.1:20002"), "{text}");
    }

    #[test]
    fn without_haproxy_a_balancer_is_refused_with_the_reason() {
        let missing = installed_in("/nonexistent").unwrap_err();
        assert!(
            missing.to_string().contains("apt-get install haproxy"),
            "{missing}"
        );
    }

    #[test]
    fn it_runs_as_haproxy_on_its_configuration() {
        let spec = balancer(serde_json::json!({ "restart": "always" }), vec![]);
        let process = as_process(&spec).unwrap();
        let properties = ProcessProperties::from_properties(&process.properties, "x").unwrap();
        assert_eq!(properties.command, "haproxy");
        assert_eq!(
            properties.arguments,
            [
                "-W",
                "-db",
                "-S",
                "/state/lb-0/haproxy-master.sock",
                "-f",
                "/state/lb-0/haproxy.cfg"
            ]
        );
        assert_eq!(
            properties.restart,
            crate::delegates::profile::RestartPolicy::Always
        );
    }
}
