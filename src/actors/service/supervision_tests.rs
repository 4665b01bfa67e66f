//! A Service actor restarts a NodeInstance actor that died, and the new one carries on from the
//! store: real store, real delegates (ports and directories), real actors.

use std::sync::Arc;
use std::time::Duration;

use ractor::Actor;

use super::{Service, ServiceArgs, ServiceStart};
use crate::actors::RuntimeContext;
use crate::actors::host::deploy_records_for_tests as prepare;
use crate::actors::lock_manager::{LockManager, LockManagerRef};
use crate::control::RuntimePaths;
use crate::delegates::ipport::MemoryPortLedger;
use crate::delegates::{Delegates, DelegatesConfig};
use crate::state::Store;
use crate::state::records::InstanceState;

const RESOURCES: &str = "\
tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  node_templates:
    data:
      type: LocalDirectory
      properties:
        temporary: true
    port:
      type: TCPPort
      properties:
        address: 127.0.0.1
";

async fn wait_for(mut done: impl FnMut() -> bool) {
    for _ in 0..600 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("waited 30 s in vain");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_node_instance_actor_is_restarted_and_reloads_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("state")).unwrap();
    let template = dir.path().join("resources.yaml");
    std::fs::write(&template, RESOURCES).unwrap();

    let (lock_manager, _) = Actor::spawn(None, LockManager, store.clone())
        .await
        .unwrap();
    // Any actor can parent the delegates here; a second LockManager is at hand.
    let (delegate_parent, _) = Actor::spawn(None, LockManager, store.clone())
        .await
        .unwrap();
    let config = DelegatesConfig::new("alpha", Arc::new(MemoryPortLedger::default()));
    let delegates = Delegates::spawn(config, delegate_parent.get_cell())
        .await
        .unwrap();
    let context = Arc::new(RuntimeContext::new(
        "alpha".into(),
        store.clone(),
        RuntimePaths::new(dir.path().join("runtime")),
        LockManagerRef(lock_manager),
        delegates,
    ));
    let (service, plan, instances) = prepare(
        &store,
        &alpha(),
        template.to_str().unwrap(),
        "default",
        "res",
        Default::default(),
    )
    .unwrap();
    store.create_service(&service, &plan, &instances).unwrap();

    let args = ServiceArgs {
        context,
        namespace: "default".into(),
        name: "res".into(),
        start: ServiceStart::Deploy,
    };
    let (actor, _) = Actor::spawn(None, Service, args).await.unwrap();
    let all_running = || {
        store
            .load_service("default", "res")
            .unwrap()
            .unwrap()
            .instances
            .iter()
            .all(|i| i.state == InstanceState::Running)
    };
    wait_for(all_running).await;

    let children = actor.get_children();
    assert_eq!(children.len(), 2);
    let victim = children[0].get_id();
    children[0].kill();
    wait_for(|| {
        let now = actor.get_children();
        now.len() == 2 && now.iter().all(|c| c.get_id() != victim)
    })
    .await;

    // The replacement works from the store: it deletes its instance when asked.
    actor.cast(super::ServiceMsg::Delete).unwrap();
    wait_for(|| store.load_service("default", "res").unwrap().is_none()).await;
}
/// The one host these tests deploy on.
fn alpha() -> Vec<crate::actors::scheduler::Candidate> {
    vec![crate::actors::scheduler::Candidate::with_every_delegate(
        "alpha",
    )]
}
