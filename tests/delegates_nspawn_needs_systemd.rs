//! Where no systemd user manager answers, a system container is refused with the reason, and
//! nothing is started or left. A file of its own: it points this test process's session bus
//! somewhere no bus answers before any thread starts.

#[path = "support/delegates.rs"]
mod support;

use khutulun::delegates::process::SupervisorChoice;
use khutulun::delegates::protocol::{self, DelegateKind};
use serde_json::json;
use support::{Agent, instance_spec};

#[test]
fn without_a_user_manager_a_system_container_is_refused() {
    let scratch = tempfile::tempdir().unwrap();
    let nowhere = scratch.path().join("no-bus");
    // SAFETY: no other thread runs yet; the runtime is built below.
    unsafe {
        std::env::set_var(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", nowhere.display()),
        );
        std::env::set_var("XDG_RUNTIME_DIR", scratch.path());
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let root = scratch.path().join("root");
        std::fs::create_dir_all(root.join("usr")).unwrap();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/os-release"), "ID=test\n").unwrap();
        let spec = instance_spec(
            scratch.path(),
            "nspawn-no-systemd",
            &["SystemContainer", "Workload", "Root"],
            json!({"image": {"directory": root}, "command": ["sh"]}),
            Vec::new(),
        );
        let agent = Agent::start(SupervisorChoice::Auto).await;
        let nspawn = agent.delegate(DelegateKind::Nspawn);
        let refused = async {
            let created = protocol::create(&nspawn, spec.clone()).await?;
            protocol::start(&nspawn, spec.clone(), created).await
        }
        .await;
        let error = refused.unwrap_err().to_string();
        if error.contains("not installed") {
            // systemd-nspawn itself is missing: that is refused first, just as clearly.
            assert!(error.contains("systemd-container"), "{error}");
        } else {
            assert!(error.contains("nspawn-no-systemd/worker-0"), "{error}");
            assert!(error.contains("must run as a systemd unit"), "{error}");
        }
        let _ = protocol::delete(&nspawn, spec.clone(), Default::default()).await;
        assert!(!spec.state_dir.exists(), "nothing is left of it");
        agent.stop();
    });
}
