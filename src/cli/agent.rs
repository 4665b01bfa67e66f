//! `khutulun agent`: runs this host's agent in the foreground (as a systemd service in
//! production: deploy/systemd/khutulun-agent.service).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::agent::{AgentConfig, default_host_name};
use crate::control::paths::{default_runtime_dir, default_state_dir};
use crate::state::records::HostOffer;

/// `khutulun agent`.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The shared store [default: $XDG_STATE_HOME/khutulun, or /var/lib/khutulun for root].
    #[arg(long, env = "KHUTULUN_STATE", value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// This host's private directory for the control socket and its token [default:
    /// $XDG_RUNTIME_DIR/khutulun, or /run/khutulun for root].
    #[arg(long, env = "KHUTULUN_RUNTIME", value_name = "DIR")]
    pub runtime: Option<PathBuf>,
    /// This host's name in the cluster [default: the machine's host name].
    #[arg(long, value_name = "HOST")]
    pub name: Option<String>,
    /// The address other hosts reach this one at, as IP or IP:PORT (port 7946 when omitted). The
    /// agent then runs membership (SWIM over UDP on that address) with the other hosts of the
    /// store, whose records carry their addresses. Without it the host runs alone.
    #[arg(long, env = "KHUTULUN_LISTEN", value_name = "ADDR",
          value_parser = crate::actors::membership::parse_address)]
    pub listen: Option<SocketAddr>,
    /// Also announce this host to a member at ADDR (IP or IP:PORT) at start; repeatable. Only
    /// needed for members whose records are not in this store.
    #[arg(long, value_name = "ADDR", requires = "listen",
          value_parser = crate::actors::membership::parse_address)]
    pub join: Vec<SocketAddr>,
    /// Also find the other hosts of the cluster on this LAN segment by multicast beacons
    /// (group 239.255.79.46, UDP port 7947, on the --listen address's interface; IPv4), with no
    /// host record in common and no --join. Only hosts holding the cluster's secret are heard.
    #[arg(long, requires = "listen")]
    pub discover: bool,
    /// The longest any delegate operation may take, in seconds, when shorter than its own
    /// default (create 300, start and delete 120, adopt and stop 60, status 30, logs 10): an
    /// operation that takes longer fails its instance, naming the instance and the operation.
    #[arg(long, env = "KHUTULUN_DELEGATE_TIMEOUT", value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub delegate_timeout: Option<u64>,
    /// How long, in milliseconds, a workload started by a deploy or an update must keep
    /// running: one that stops, fails or is restarted sooner fails them. 0 counts a workload
    /// as up as soon as it started.
    #[arg(
        long,
        env = "KHUTULUN_SETTLE_TIME",
        value_name = "MILLISECONDS",
        default_value_t = 500
    )]
    pub settle_time: u64,
    /// A label of this host, KEY=VALUE, that Placement and Distribution policies select hosts
    /// by (`hosts: { labels: { zone: a } }`); repeatable.
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
    /// The most instances this host takes [default: no limit].
    #[arg(long, value_name = "N")]
    pub max_instances: Option<u32>,
    /// Start Podman's API service (`podman system service`) when Podman is installed and
    /// nothing answers at the socket the podman delegate uses, with a configuration that works
    /// without systemd as PID 1 (its log: podman-service.log in the runtime directory); it
    /// stops with the agent, and containers keep running.
    #[arg(long, env = "KHUTULUN_START_PODMAN")]
    pub start_podman: bool,
    /// Where libvirt answers, for VirtualMachine nodes.
    #[arg(long, env = "KHUTULUN_LIBVIRT_URI", value_name = "URI",
          default_value = crate::delegates::libvirt::SYSTEM_URI)]
    pub libvirt_uri: String,
    /// How virtual machines run: `kvm`, or `tcg` (emulated by QEMU alone, slower, where KVM is
    /// missing or does not work) [default: kvm where /dev/kvm exists, else tcg].
    #[arg(long, env = "KHUTULUN_VM_ACCELERATOR", value_name = "kvm|tcg")]
    pub vm_accelerator: Option<crate::delegates::libvirt::Accelerator>,
    /// The Firewalld zone that `ingress` ports are opened in [default: Firewalld's default
    /// zone, asked when a port is opened].
    #[arg(long, env = "KHUTULUN_FIREWALLD_ZONE", value_name = "ZONE")]
    pub firewalld_zone: Option<String>,
    /// The D-Bus address of the system bus Firewalld answers on, e.g.
    /// `unix:path=/run/dbus/system_bus_socket` [default: $DBUS_SYSTEM_BUS_ADDRESS, else the
    /// system bus's usual socket].
    #[arg(long, value_name = "ADDRESS")]
    pub firewalld_bus: Option<String>,
    /// Reserve `ingress` ports without exposing them when no Firewalld answers (their
    /// `firewalld_note` attribute says so in `service status`), instead of refusing them.
    #[arg(long)]
    pub ingress_without_firewalld: bool,
}

/// Reads `KEY=VALUE`: a key of letters, digits, `.`, `_`, `-` and `/`, and any value.
fn parse_label(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))?;
    let valid = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'));
    if !valid {
        return Err(format!(
            "label key {key:?} must be letters, digits, '.', '_', '-' or '/'"
        ));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// Runs the agent until SIGINT/SIGTERM.
pub fn run(args: AgentArgs) -> ExitCode {
    super::logging::log_to_stderr();
    let config = AgentConfig {
        state: args.state.unwrap_or_else(default_state_dir),
        runtime: args.runtime.unwrap_or_else(default_runtime_dir),
        name: args.name.unwrap_or_else(default_host_name),
        listen: args.listen,
        join: args.join,
        discover: args.discover,
        delegate_timeout: args.delegate_timeout.map(std::time::Duration::from_secs),
        settle_time: std::time::Duration::from_millis(args.settle_time),
        offer: HostOffer::of_this_machine(args.labels.into_iter().collect(), args.max_instances),
        libvirt: crate::delegates::libvirt::LibvirtConfig {
            uri: args.libvirt_uri,
            accelerator: args
                .vm_accelerator
                .unwrap_or_else(crate::delegates::libvirt::Accelerator::of_host),
        },
        firewalld: crate::delegates::firewalld::FirewalldConfig {
            zone: args.firewalld_zone,
            bus: args.firewalld_bus,
        },
        ingress_without_firewalld: args.ingress_without_firewalld,
        start_podman: args.start_podman,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: could not start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(crate::agent::run(config));
    // Work still running in the blocking pool (a store write, a stuck engine call) must not
    // keep the agent from exiting: the store's writes are atomic, and workloads outlive it.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
