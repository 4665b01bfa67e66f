//! The directory and ipport delegates driven through their actors, as the runtime drives them:
//! real directories and real ports (each reserved port is bound to prove it is free).

#[path = "support/parent.rs"]
mod parent;

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use khutulun::delegates::ipport::{MemoryPortLedger, PortLedger};
use khutulun::delegates::protocol::{
    self, InstanceHealth, InstanceSpec, LogSource, TypeRef, delegate_for,
};
use khutulun::delegates::{Delegates, DelegatesConfig};
use ractor::ActorRef;

async fn delegates(ledger: Arc<dyn PortLedger>) -> (Delegates, ActorRef<parent::Nothing>) {
    let mut config = DelegatesConfig::new("alpha", ledger);
    config.port_range = 23000..=23999;
    // No Firewalld here (tests/delegates_firewalld.rs runs a real one).
    config.firewalld.bus = Some("unix:path=/nonexistent/khutulun-test-bus".into());
    let (delegates, supervisor) = parent::spawn_delegates(config).await;
    (delegates, supervisor)
}

fn spec(
    state: &Path,
    instance: &str,
    types: &[&str],
    properties: serde_json::Value,
) -> InstanceSpec {
    InstanceSpec {
        namespace: "default".into(),
        service: "resources".into(),
        instance: instance.into(),
        node: instance.rsplit_once('-').unwrap().0.into(),
        types: types.iter().map(|t| TypeRef::khutulun(t)).collect(),
        properties: properties.as_object().unwrap().clone(),
        requirements: Vec::new(),
        state_dir: state.join(instance),
        artifacts: Default::default(),
    }
}

#[tokio::test]
async fn concurrent_port_reservations_never_collide_and_are_released() {
    let ledger = Arc::new(MemoryPortLedger::default());
    let (delegates, supervisor) = delegates(ledger.clone()).await;
    let state = tempfile::tempdir().unwrap();
    let types = ["TCPPort", "Port", "Endpoint", "Root"];
    let kind = delegate_for(
        &types
            .iter()
            .map(|t| TypeRef::khutulun(t))
            .collect::<Vec<_>>(),
    );
    let delegate = delegates.for_kind(kind.unwrap()).unwrap();

    let specs: Vec<InstanceSpec> = (0..40)
        .map(|i| {
            spec(
                state.path(),
                &format!("port-{i}"),
                &types,
                serde_json::json!({}),
            )
        })
        .collect();
    let calls = specs.iter().cloned().map(|spec| {
        let delegate = delegate.clone();
        tokio::spawn(async move { protocol::create(&delegate, spec).await })
    });
    let mut ports = BTreeSet::new();
    let mut created = Vec::new();
    for call in calls {
        let attributes = call.await.unwrap().unwrap();
        assert_eq!(attributes["address"], "127.0.0.1");
        let port = attributes["port"].as_u64().unwrap() as u16;
        assert!((23000..=23999).contains(&port));
        // A reserved port is really free: we can listen on it.
        TcpListener::bind(("127.0.0.1", port)).unwrap();
        ports.insert(port);
        created.push(attributes);
    }
    assert_eq!(ports.len(), 40, "every instance got its own port");
    assert_eq!(ledger.read("alpha").await.unwrap().reservations.len(), 40);

    let (first, attributes) = (specs[0].clone(), created[0].clone());
    let seen = protocol::status(&delegate, first.clone(), attributes.clone())
        .await
        .unwrap();
    assert_eq!(seen.health, InstanceHealth::Running);
    assert_eq!(
        protocol::logs(&delegate, first.clone(), attributes.clone())
            .await
            .unwrap(),
        LogSource::None
    );

    for (spec, attributes) in specs.into_iter().zip(created) {
        protocol::delete(&delegate, spec, attributes).await.unwrap();
    }
    assert!(ledger.read("alpha").await.unwrap().reservations.is_empty());
    let seen = protocol::status(&delegate, first, attributes)
        .await
        .unwrap();
    assert_eq!(seen.health, InstanceHealth::Missing);
    supervisor.stop(None);
}

#[tokio::test]
async fn a_port_in_use_is_not_handed_out_and_bad_input_is_refused() {
    let (delegates, supervisor) = delegates(Arc::new(MemoryPortLedger::default())).await;
    let state = tempfile::tempdir().unwrap();
    let delegate = delegates.for_kind(protocol::DelegateKind::IpPort).unwrap();
    let types = ["Port", "Endpoint", "Root"];

    let busy = TcpListener::bind(("0.0.0.0", 0)).unwrap();
    let busy_port = busy.local_addr().unwrap().port();
    let wanted = spec(
        state.path(),
        "fixed-0",
        &types,
        serde_json::json!({"port": busy_port}),
    );
    let error = protocol::create(&delegate, wanted)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("in use by a program outside Khutulun"),
        "{error}"
    );

    let ingress = spec(
        state.path(),
        "edge-0",
        &types,
        serde_json::json!({"exposure": "ingress"}),
    );
    let error = protocol::create(&delegate, ingress)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("an ingress port is opened in firewalld, but the system bus at unix:path=/nonexistent/khutulun-test-bus does not answer"),
        "{error}"
    );

    let nonsense = spec(
        state.path(),
        "bad-0",
        &types,
        serde_json::json!({"protocol": "sctp"}),
    );
    let error = protocol::create(&delegate, nonsense)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("default/resources/bad-0: "), "{error}");
    supervisor.stop(None);
}

#[tokio::test]
async fn a_known_endpoint_reports_its_properties() {
    let (delegates, supervisor) = delegates(Arc::new(MemoryPortLedger::default())).await;
    let state = tempfile::tempdir().unwrap();
    let types = ["IPEndpoint", "Endpoint", "Root"];
    let kind = delegate_for(
        &types
            .iter()
            .map(|t| TypeRef::khutulun(t))
            .collect::<Vec<_>>(),
    );
    let delegate = delegates.for_kind(kind.unwrap()).unwrap();
    let db = spec(
        state.path(),
        "db-0",
        &types,
        serde_json::json!({"address": "10.0.0.5", "port": 5432}),
    );
    let attributes = protocol::create(&delegate, db).await.unwrap();
    assert_eq!(attributes["address"], "10.0.0.5");
    assert_eq!(attributes["port"], 5432);
    supervisor.stop(None);
}

#[tokio::test]
async fn directories_are_made_and_temporary_ones_removed() {
    let (delegates, supervisor) = delegates(Arc::new(MemoryPortLedger::default())).await;
    let state = tempfile::tempdir().unwrap();
    let types = ["LocalDirectory", "Directory", "Root"];
    let kind = delegate_for(
        &types
            .iter()
            .map(|t| TypeRef::khutulun(t))
            .collect::<Vec<_>>(),
    );
    let delegate = delegates.for_kind(kind.unwrap()).unwrap();
    let site = spec(
        state.path(),
        "site-0",
        &types,
        serde_json::json!({"temporary": true}),
    );

    let attributes = protocol::create(&delegate, site.clone()).await.unwrap();
    let path = Path::new(attributes["path"].as_str().unwrap()).to_owned();
    assert!(path.is_dir());
    assert!(path.starts_with(state.path().join("site-0")));
    let started = protocol::start(&delegate, site.clone(), attributes.clone())
        .await
        .unwrap();
    assert_eq!(started, attributes);
    std::fs::write(path.join("index.html"), "<h1>hi</h1>").unwrap();
    let seen = protocol::adopt(&delegate, site.clone(), attributes.clone())
        .await
        .unwrap();
    assert_eq!(seen.health, InstanceHealth::Running);

    protocol::delete(&delegate, site.clone(), attributes.clone())
        .await
        .unwrap();
    assert!(!path.exists());
    // Deleting again is fine: it is already gone.
    protocol::delete(&delegate, site, attributes).await.unwrap();

    // A networked directory's own instance checks its source and reports where it is mounted
    // on this host; the mounts are made for the instances that attach it.
    let types = ["NetworkDirectory", "Directory", "Root"];
    let network = spec(
        state.path(),
        "share-0",
        &types,
        serde_json::json!({"source": "nfs://server/export"}),
    );
    let created = protocol::create(&delegate, network.clone()).await.unwrap();
    assert_eq!(created["source"], "nfs://server/export");
    assert_eq!(
        created["path"],
        network.state_dir.join("mount").to_string_lossy().as_ref()
    );
    protocol::delete(&delegate, network, created).await.unwrap();
    let bad = spec(
        state.path(),
        "share-1",
        &types,
        serde_json::json!({"source": "smb://server/share"}),
    );
    let error = protocol::create(&delegate, bad)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("is not one Khutulun mounts"), "{error}");
    supervisor.stop(None);
}

#[tokio::test]
async fn kinds_without_a_delegate_say_so() {
    let (delegates, supervisor) = delegates(Arc::new(MemoryPortLedger::default())).await;
    let error = delegates
        .for_kind(protocol::DelegateKind::Firewalld)
        .unwrap_err()
        .to_string();
    assert!(error.contains("exposure: ingress"), "{error}");
    let kinds: Vec<String> = delegates.kinds().map(|k| k.to_string()).collect();
    assert_eq!(
        kinds,
        [
            "process",
            "systemd",
            "ipport",
            "directory",
            "podman",
            "docker",
            "nspawn",
            "distrobox",
            "libvirt",
            "firewalld"
        ]
    );
    let error = delegates
        .for_kind(protocol::DelegateKind::Systemd)
        .unwrap_err()
        .to_string();
    assert!(error.contains("SystemdProcess"), "{error}");
    supervisor.stop(None);
}
