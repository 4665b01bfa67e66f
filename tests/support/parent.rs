//! The parent that delegate tests spawn the delegate actors under, as the runtime's Host actor
//! is theirs.

use khutulun::delegates::{Delegates, DelegatesConfig};
use ractor::{Actor, ActorProcessingErr, ActorRef};

/// A parent that only holds its children.
struct Parent;

/// The parent takes no messages.
pub struct Nothing;
impl ractor::Message for Nothing {}

impl Actor for Parent {
    type Msg = Nothing;
    type State = ();
    type Arguments = ();
    async fn pre_start(&self, _: ActorRef<Nothing>, _: ()) -> Result<(), ActorProcessingErr> {
        Ok(())
    }
}

/// Spawns the delegates `config` describes under a new parent; keep the parent as long as
/// the delegates are needed.
pub async fn spawn_delegates(config: DelegatesConfig) -> (Delegates, ActorRef<Nothing>) {
    let (parent, _) = Actor::spawn(None, Parent, ()).await.unwrap();
    let delegates = Delegates::spawn(config, parent.get_cell()).await.unwrap();
    (delegates, parent)
}
