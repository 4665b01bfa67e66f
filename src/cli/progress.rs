//! One line per instance as its state changes, printed above the progress bar of `service
//! deploy` and `service delete`: only when the bar shows (standard error is a terminal), so
//! scripts and logs see none of it.

use std::collections::BTreeMap;

use indicatif::ProgressBar;

use crate::control::protocol::ServiceStatus;
use crate::state::records::InstanceState;

/// What was last shown of each instance.
#[derive(Default)]
pub struct Changes(BTreeMap<String, InstanceState>);

impl Changes {
    /// Shows, above `bar`, each instance of `status` whose state changed since the last call,
    /// and each that is gone.
    pub fn show(&mut self, bar: &ProgressBar, status: &ServiceStatus) {
        for instance in &status.instances {
            if self.0.get(&instance.id) != Some(&instance.state) {
                bar.println(line(&instance.id, &instance.host, instance.state));
                self.0.insert(instance.id.clone(), instance.state);
            }
        }
        let gone: Vec<String> = self
            .0
            .keys()
            .filter(|id| !status.instances.iter().any(|i| &i.id == *id))
            .cloned()
            .collect();
        for id in gone {
            bar.println(format!("  {id} deleted"));
            self.0.remove(&id);
        }
    }

    /// Shows every instance still shown as deleted (the whole service is gone).
    pub fn all_gone(&mut self, bar: &ProgressBar) {
        for id in std::mem::take(&mut self.0).into_keys() {
            bar.println(format!("  {id} deleted"));
        }
    }
}

fn line(id: &str, host: &str, state: InstanceState) -> String {
    format!("  {id} {state} on {host}")
}
