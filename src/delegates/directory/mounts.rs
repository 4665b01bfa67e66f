//! How the directory actor answers for networked directories: the lifecycle of a
//! `NetworkDirectory` instance, and the mounts made for the instances that attach one, each
//! change to a mount in a task of its own after the changes to the same mount asked before it
//! (mounting may take its whole deadline; the actor goes on answering meanwhile, and two
//! instances attaching one directory at once still mount it once).

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::actor::DirectoryConfig;
use super::attach;
use super::network::NetworkPlan;
use crate::delegates::protocol::{
    DelegateError, DelegateMsg, ExecSource, InstanceSpec, LogSource, Reply,
};

/// One lock per networked directory of this host, by the file that records its mount.
#[derive(Default)]
pub struct Mounts {
    locks: Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>,
}

impl Mounts {
    /// Mounts `directory` on this host for `holder`, or shares the mount there; replies with
    /// the mount point.
    pub fn attach(
        &self,
        config: &DirectoryConfig,
        directory: &InstanceSpec,
        holder: String,
        reply: Reply<PathBuf>,
    ) {
        self.in_turn(config, directory, reply, async move |config, plan| {
            attach::attach(&config, &plan, &holder).await
        });
    }

    /// Takes `holder` off `directory`'s mount on this host, unmounting it after the last one.
    pub fn detach(
        &self,
        config: &DirectoryConfig,
        directory: &InstanceSpec,
        holder: String,
        reply: Reply<()>,
    ) {
        self.in_turn(config, directory, reply, async move |config, plan| {
            attach::detach(&config, &plan, &holder).await
        });
    }

    /// Answers a lifecycle call of a `NetworkDirectory` instance: it reports its source and
    /// mount point, and its delete removes what is left of its mount on this host.
    pub fn lifecycle(&self, config: &DirectoryConfig, message: DelegateMsg) {
        match message {
            DelegateMsg::Create { spec, reply } => {
                let _ = reply.send(NetworkPlan::of(&spec).map(|plan| plan.attributes()));
            }
            DelegateMsg::Start { spec, reply, .. } | DelegateMsg::Stop { spec, reply, .. } => {
                let _ = reply.send(NetworkPlan::of(&spec).map(|plan| plan.attributes()));
            }
            DelegateMsg::Status { spec, reply, .. } | DelegateMsg::Adopt { spec, reply, .. } => {
                let _ = reply.send(NetworkPlan::of(&spec).map(|plan| plan.observe()));
            }
            DelegateMsg::Delete { spec, reply, .. } => {
                self.in_turn(config, &spec, reply, async move |config, plan| {
                    attach::delete_unused(&config, &plan).await
                });
            }
            DelegateMsg::Exec { reply, .. } => {
                let _ = reply.send(Ok(ExecSource::None));
            }
            DelegateMsg::Logs { reply, .. } => {
                let _ = reply.send(Ok(LogSource::None));
            }
        }
    }

    /// Runs `work` on `directory`'s plan once the changes to its mount asked before are done,
    /// and replies with its result; a directory whose plan cannot be read is refused at once.
    fn in_turn<T, F, Fut>(
        &self,
        config: &DirectoryConfig,
        directory: &InstanceSpec,
        reply: Reply<T>,
        work: F,
    ) where
        T: Send + 'static,
        F: FnOnce(DirectoryConfig, NetworkPlan) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, DelegateError>> + Send,
    {
        let plan = match NetworkPlan::of(directory) {
            Ok(plan) => plan,
            Err(error) => {
                let _ = reply.send(Err(error));
                return;
            }
        };
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
            locks.entry(plan.record_path()).or_default().clone()
        };
        let config = config.clone();
        tokio::spawn(async move {
            let _turn = lock.lock().await;
            let _ = reply.send(work(config, plan).await);
        });
    }
}
