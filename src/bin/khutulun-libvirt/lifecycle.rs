//! The lifecycle of one virtual machine instance against libvirt: define (files first), start,
//! look at it, adopt it, stop it, delete it. Everything is found again by the domain's name
//! and checked against its metadata, so nothing is kept between calls. These calls block (the
//! libvirt C library); the helper runs one per process.

use std::path::{Path, PathBuf};

use tracing::{info, warn};
use virt::connect::Connect;
use virt::domain::Domain;
use virt::error::ErrorNumber;
use virt::sys;

use khutulun::delegates::libvirt::{Accelerator, DomainPlan, Source};
use khutulun::delegates::profile::RestartPolicy;
use khutulun::delegates::protocol::{Attributes, DelegateError, InstanceHealth, Observation};

/// Where libvirt answers and how guests run here.
#[derive(Clone, Debug)]
pub struct Hypervisor {
    /// The libvirt URI, e.g. `qemu:///system`.
    pub uri: String,
    /// KVM or TCG.
    pub accelerator: Accelerator,
}

/// A failed libvirt call as a delegate error: "could not {action}: {libvirt's reason}".
fn failed(action: impl AsRef<str>, error: virt::error::Error) -> DelegateError {
    DelegateError::Failed(format!(
        "could not {}: {}",
        action.as_ref(),
        error.message().trim()
    ))
}

impl Hypervisor {
    /// Runs `work` with a connection to libvirt, closed afterwards.
    fn with<T>(
        &self,
        work: impl FnOnce(&Connect) -> Result<T, DelegateError>,
    ) -> Result<T, DelegateError> {
        let mut connection = Connect::open(Some(&self.uri)).map_err(|error| {
            DelegateError::Unavailable(format!(
                "libvirt does not answer at {} ({}); start it (`systemctl start libvirtd`, or `virtlogd -d && libvirtd -d`)",
                self.uri,
                error.message().trim()
            ))
        })?;
        let result = work(&connection);
        let _ = connection.close();
        result
    }

    /// Whether libvirt answers, with its version.
    pub fn check(&self) -> Result<(), DelegateError> {
        self.with(|connection| {
            connection
                .get_lib_version()
                .map(|_| ())
                .map_err(|e| failed(format!("ask libvirt at {} its version", self.uri), e))
        })
    }
}

/// The instance's domain: `None` when there is none; refused when one of its name exists that
/// Khutulun did not make for it.
fn find(connection: &Connect, plan: &DomainPlan) -> Result<Option<Domain>, DelegateError> {
    let domain = match Domain::lookup_by_name(connection, &plan.name) {
        Ok(domain) => domain,
        Err(error) if error.code() == ErrorNumber::NoDomain => return Ok(None),
        Err(error) => return Err(failed(format!("look up domain {}", plan.name), error)),
    };
    let xml = domain
        .get_xml_desc(0)
        .map_err(|e| failed(format!("read domain {}", plan.name), e))?;
    if !plan.owns(&xml) {
        return Err(DelegateError::Failed(format!(
            "{}: a libvirt domain named {} exists that Khutulun did not make for it; remove or rename it",
            plan.instance, plan.name
        )));
    }
    Ok(Some(domain))
}

/// The attribute with a bridged guest's own address, once the host has seen it.
const ADDRESS: &str = "address";

/// The bridged guest's address the runtime recorded, kept while the host's neighbour table
/// has forgotten it (an entry ages out when no traffic passes).
fn known_address(attributes: &Attributes) -> Option<String> {
    attributes
        .get(ADDRESS)
        .and_then(|address| address.as_str())
        .map(str::to_owned)
}

/// A bridged guest's IPv4 address, as the host's neighbour (ARP) table knows its network
/// card's MAC address: the guest chose it (its DHCP, or its kernel command line), so it is
/// learnt once the guest has spoken on the bridge. The table is read from `/proc/net/arp`
/// (libvirt's own ARP source fails on newer kernels: "wrong nlmsg len").
fn guest_address(domain: &Domain) -> Option<String> {
    let xml = domain.get_xml_desc(0).ok()?;
    let mac = mac_address(&xml)?;
    let table = std::fs::read_to_string("/proc/net/arp").ok()?;
    neighbour(&table, &mac)
}

/// The MAC address of the domain's (first) network card, from its XML.
fn mac_address(xml: &str) -> Option<String> {
    let interface = &xml[xml.find("<interface")?..];
    let rest = &interface[interface.find("<mac address=")? + "<mac address=".len()..];
    let quote = rest.chars().next()?;
    let value = &rest[1..];
    Some(value[..value.find(quote)?].to_ascii_lowercase())
}

/// The IPv4 address `/proc/net/arp` (`table`) gives `mac`, when its entry is complete.
fn neighbour(table: &str, mac: &str) -> Option<String> {
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [address, _, flags, hardware, ..] = fields[..] else {
            return None;
        };
        let complete =
            u32::from_str_radix(flags.trim_start_matches("0x"), 16).is_ok_and(|f| f & 0x2 != 0);
        (complete && hardware.eq_ignore_ascii_case(mac)).then(|| address.to_owned())
    })
}

/// The instance's attributes: its domain and serial log.
fn attributes(plan: &DomainPlan) -> Attributes {
    let mut attributes = Attributes::new();
    attributes.insert("domain".into(), plan.name.clone().into());
    attributes.insert(
        "log".into(),
        plan.serial_log().to_string_lossy().into_owned().into(),
    );
    attributes
}

/// The file of `source` on this host: a path as it is (it must exist), an artifact written
/// into the instance's directory when it is not a file.
fn materialize(plan: &DomainPlan, source: &Source) -> Result<PathBuf, DelegateError> {
    match source {
        Source::Path(path) if path.is_file() => Ok(path.clone()),
        Source::Path(path) => Err(DelegateError::Failed(format!(
            "{}: {} is not a file on this host",
            plan.instance,
            path.display()
        ))),
        Source::Artifact { name, location } => {
            // A file on disk (a downloaded one too) is used where it is; one inside a CSAR is
            // copied out.
            if let Some(path) = location.local_path().filter(|path| path.is_file()) {
                return Ok(path.to_owned());
            }
            let content = location.read().map_err(|e| {
                DelegateError::Failed(format!(
                    "{}: could not read artifact {name:?} ({location}): {e}",
                    plan.instance
                ))
            })?;
            let path = plan.state_dir.join(format!("artifact-{name}"));
            std::fs::write(&path, content)
                .map_err(|e| DelegateError::io(format!("write {}", path.display()), e))?;
            Ok(path)
        }
    }
}

/// The instance's own copy of its disk: a qcow2 overlay on the image (which stays untouched).
fn copy_disk(plan: &DomainPlan, image: &Path) -> Result<PathBuf, DelegateError> {
    let copy = plan.disk_copy();
    let _ = std::fs::remove_file(&copy);
    let format = match image.extension().and_then(|e| e.to_str()) {
        Some("qcow2") => "qcow2",
        _ => "raw",
    };
    let mut command = std::process::Command::new("qemu-img");
    command
        .args(["create", "-q", "-f", "qcow2", "-F", format, "-b"])
        .arg(image)
        .arg(&copy);
    run_tool(plan, &mut command, "qemu-utils", "copy the disk", image)?;
    Ok(copy)
}

/// Runs a tool of the host (from `package`) that makes `made` to `doing`: a tool that is not
/// there is a missing part of the host, one that fails says why in its own words.
fn run_tool(
    plan: &DomainPlan,
    command: &mut std::process::Command,
    package: &str,
    doing: &str,
    made: &Path,
) -> Result<(), DelegateError> {
    let program = command.get_program().to_string_lossy().into_owned();
    let output = command.output().map_err(|e| {
        DelegateError::Unavailable(format!(
            "{}: could not run {program} to {doing} ({e}); install it (apt-get install {package})",
            plan.instance
        ))
    })?;
    if !output.status.success() {
        return Err(DelegateError::Failed(format!(
            "{}: could not {doing} {}: {}",
            plan.instance,
            made.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(())
}

/// Writes the cloud-init seed's `files` and makes the plan's seed image of them: an ISO 9660
/// image labelled `cidata`, as cloud-init's NoCloud source looks for (`genisoimage`, which
/// cloud-localds uses too).
fn make_seed(plan: &DomainPlan, files: &[(&'static str, String)]) -> Result<(), DelegateError> {
    let dir = plan.state_dir.join("cidata");
    std::fs::create_dir_all(&dir)
        .map_err(|e| DelegateError::io(format!("create {}", dir.display()), e))?;
    for (name, content) in files {
        let path = dir.join(name);
        std::fs::write(&path, content)
            .map_err(|e| DelegateError::io(format!("write {}", path.display()), e))?;
    }
    let image = plan.seed_image();
    let mut command = std::process::Command::new("genisoimage");
    command
        .args(["-quiet", "-volid", "cidata", "-joliet", "-rock", "-output"])
        .arg(&image)
        .args(files.iter().map(|(name, _)| dir.join(name)));
    run_tool(
        plan,
        &mut command,
        "genisoimage",
        "make the cloud-init seed",
        &image,
    )?;
    Ok(())
}

/// Defines the domain anew from the plan (one an earlier attempt left is removed first).
fn define(
    hypervisor: &Hypervisor,
    connection: &Connect,
    plan: &DomainPlan,
) -> Result<Domain, DelegateError> {
    if let Some(earlier) = find(connection, plan)? {
        info!(instance = %plan.instance, domain = %plan.name, "removing the domain an earlier deploy left");
        remove(plan, &earlier)?;
    }
    std::fs::create_dir_all(&plan.state_dir)
        .map_err(|e| DelegateError::io(format!("create {}", plan.state_dir.display()), e))?;
    let kernel = match &plan.kernel {
        Some((kernel, initrd, _)) => Some((
            materialize(plan, kernel)?,
            initrd.as_ref().map(|i| materialize(plan, i)).transpose()?,
        )),
        None => None,
    };
    let disk = match &plan.disk {
        Some(image) => Some(copy_disk(plan, &materialize(plan, image)?)?),
        None => None,
    };
    if let Some(files) = &plan.seed {
        make_seed(plan, files)?;
    }
    let text = |path: &PathBuf| path.to_string_lossy().into_owned();
    let kernel = kernel.map(|(k, i)| (text(&k), i.as_ref().map(text)));
    let xml = plan.xml(
        hypervisor.accelerator,
        kernel.as_ref().map(|(k, i)| (k.as_str(), i.as_deref())),
        disk.as_ref().map(text).as_deref(),
    );
    Domain::define_xml(connection, &xml).map_err(|e| {
        failed(
            format!("define domain {} for {}", plan.name, plan.instance),
            e,
        )
    })
}

/// Powers the guest off at once (`virsh destroy`); one already off is fine.
fn power_off(plan: &DomainPlan, domain: &Domain) -> Result<(), DelegateError> {
    if domain.is_active().unwrap_or(true)
        && let Err(error) = domain.destroy()
        && domain.is_active().unwrap_or(true)
    {
        return Err(failed(format!("stop domain {}", plan.name), error));
    }
    Ok(())
}

/// Stops the domain at once and undefines it.
fn remove(plan: &DomainPlan, domain: &Domain) -> Result<(), DelegateError> {
    power_off(plan, domain)?;
    domain
        .undefine()
        .map_err(|e| failed(format!("undefine domain {}", plan.name), e))
}

/// `Create`: the domain is defined, not started.
pub fn create(hypervisor: &Hypervisor, plan: &DomainPlan) -> Result<Attributes, DelegateError> {
    hypervisor.with(|connection| {
        define(hypervisor, connection, plan)?;
        Ok(attributes(plan))
    })
}

fn start_domain(plan: &DomainPlan, domain: &Domain) -> Result<(), DelegateError> {
    if domain.is_active().unwrap_or(false) {
        return Ok(());
    }
    domain.create().map(|_| ()).map_err(|e| {
        failed(
            format!("start domain {} for {}", plan.name, plan.instance),
            e,
        )
    })
}

/// `Start`: the guest runs (its domain is defined first when it is missing).
pub fn start(hypervisor: &Hypervisor, plan: &DomainPlan) -> Result<Attributes, DelegateError> {
    hypervisor.with(|connection| {
        let domain = match find(connection, plan)? {
            Some(domain) => domain,
            None => define(hypervisor, connection, plan)?,
        };
        start_domain(plan, &domain)?;
        Ok(attributes(plan))
    })
}

/// The instance's health from its domain's state and the reason for it.
fn health(plan: &DomainPlan, state: sys::virDomainState, reason: i32) -> InstanceHealth {
    let name = &plan.name;
    match state {
        sys::VIR_DOMAIN_RUNNING | sys::VIR_DOMAIN_BLOCKED => InstanceHealth::Running,
        sys::VIR_DOMAIN_SHUTDOWN => InstanceHealth::Stopped,
        sys::VIR_DOMAIN_PAUSED => InstanceHealth::Failed {
            reason: format!("domain {name} is paused"),
        },
        sys::VIR_DOMAIN_CRASHED => InstanceHealth::Failed {
            reason: format!("domain {name} crashed"),
        },
        sys::VIR_DOMAIN_SHUTOFF
            if reason == sys::VIR_DOMAIN_SHUTOFF_CRASHED as i32
                || reason == sys::VIR_DOMAIN_SHUTOFF_FAILED as i32 =>
        {
            InstanceHealth::Failed {
                reason: format!("domain {name} crashed or failed to start; see its serial log"),
            }
        }
        sys::VIR_DOMAIN_SHUTOFF => InstanceHealth::Stopped,
        other => InstanceHealth::Failed {
            reason: format!("domain {name} is in state {other}"),
        },
    }
}

/// Whether a guest that ended by itself (powered off or crashed, not stopped by someone) is
/// started again when adopted.
fn restarts(
    plan: &DomainPlan,
    health: &InstanceHealth,
    state: sys::virDomainState,
    reason: i32,
) -> bool {
    let powered_off =
        state == sys::VIR_DOMAIN_SHUTOFF && reason == sys::VIR_DOMAIN_SHUTOFF_SHUTDOWN as i32;
    match health {
        InstanceHealth::Stopped => powered_off && plan.restart.after_success(),
        InstanceHealth::Failed { .. } => plan.restart.after_failure(),
        _ => false,
    }
}

/// `Status` (and, with `adopt`, `Adopt`): what the guest is doing now. Adopting a guest that
/// ended while no agent looked starts it again when its policy says so; a domain that is gone
/// is defined and started again. `recorded` holds the address a bridged guest was last seen at.
pub fn observe(
    hypervisor: &Hypervisor,
    plan: &DomainPlan,
    adopt: bool,
    recorded: &Attributes,
) -> Result<Observation, DelegateError> {
    hypervisor.with(|connection| {
        let domain = match find(connection, plan)? {
            Some(domain) => domain,
            None if adopt && plan.restart != RestartPolicy::No => {
                warn!(instance = %plan.instance, domain = %plan.name, "it is gone: defining and starting it again");
                let domain = define(hypervisor, connection, plan)?;
                start_domain(plan, &domain)?;
                domain
            }
            None => {
                return Ok(Observation {
                    health: InstanceHealth::Missing,
                    attributes: attributes(plan),
                });
            }
        };
        let (state, reason) = domain
            .get_state()
            .map_err(|e| failed(format!("read the state of domain {}", plan.name), e))?;
        let mut health = health(plan, state, reason);
        if adopt && restarts(plan, &health, state, reason) {
            warn!(instance = %plan.instance, domain = %plan.name, "it ended while the agent was away: starting it again");
            start_domain(plan, &domain)?;
            health = InstanceHealth::Running;
        }
        let mut attributes = attributes(plan);
        let address = match plan.bridge {
            Some(_) => guest_address(&domain).or_else(|| known_address(recorded)),
            None => None,
        };
        if let Some(address) = address {
            attributes.insert(ADDRESS.into(), address.into());
        }
        Ok(Observation { health, attributes })
    })
}

/// `Stop`: the guest is powered off at once (as `virsh destroy` does); its domain stays.
pub fn stop(hypervisor: &Hypervisor, plan: &DomainPlan) -> Result<Attributes, DelegateError> {
    hypervisor.with(|connection| {
        if let Some(domain) = find(connection, plan)? {
            power_off(plan, &domain)?;
        }
        Ok(attributes(plan))
    })
}

/// `Delete`: no domain is left, nor the instance's directory (its disk copy and serial log).
pub fn delete(hypervisor: &Hypervisor, plan: &DomainPlan) -> Result<(), DelegateError> {
    hypervisor.with(|connection| {
        if let Some(domain) = find(connection, plan)? {
            remove(plan, &domain)?;
        }
        if find(connection, plan)?.is_some() {
            return Err(DelegateError::Failed(format!(
                "{}: domain {} is still there after removing it",
                plan.instance, plan.name
            )));
        }
        Ok(())
    })?;
    match std::fs::remove_dir_all(&plan.state_dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(DelegateError::io(
            format!("remove directory {}", plan.state_dir.display()),
            e,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bridged_guest_is_found_in_the_neighbour_table_by_its_card() {
        let xml = "<domain><devices><interface type='bridge'><mac address='52:54:00:4A:08:93'/>\
                   <source bridge='br0'/></interface></devices></domain>";
        let mac = mac_address(xml).unwrap();
        assert_eq!(mac, "52:54:00:4a:08:93");
        let table = "IP address       HW type     Flags       HW address            Mask     Device
10.0.0.9         0x1         0x0         52:54:00:4a:08:93     *        br0
10.231.7.2       0x1         0x2         52:54:00:4a:08:93     *        br0
192.0.2.1        0x1         0x2         02:fc:00:00:00:05     *        eth0
";
        // The incomplete entry (flags 0x0) is passed over.
        assert_eq!(neighbour(table, &mac).as_deref(), Some("10.231.7.2"));
        assert_eq!(neighbour(table, "52:54:00:00:00:01"), None);
        assert_eq!(mac_address("<domain/>"), None);
    }
}
