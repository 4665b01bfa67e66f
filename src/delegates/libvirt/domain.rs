//! What exactly to define for a virtual machine instance: the libvirt domain's name, identity,
//! memory, CPUs, what it boots, where its serial console goes and which reserved ports reach
//! it. Pure: it reads the instance spec and writes the domain XML, so it is tested without
//! libvirt.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::delegates::podman::{PublishedPort, published_ports};
use crate::delegates::profile::{
    CloudInit, FileReference, PropertySet, RestartPolicy, VirtualMachineProperties,
};
use crate::delegates::protocol::{ArtifactLocation, DelegateError, InstanceSpec};
use crate::delegates::wiring::Wiring;

/// The XML namespace of the metadata that marks a domain as an instance's.
pub const METADATA_NAMESPACE: &str = "https://khutulun.dev/xmlns/libvirt/1";

/// How libvirt runs the guest: with KVM, or emulated by QEMU alone (TCG), where KVM is missing
/// or does not work (nested virtualisation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Accelerator {
    /// Hardware virtualisation (`<domain type='kvm'>`).
    #[default]
    Kvm,
    /// Software emulation (`<domain type='qemu'>`).
    Tcg,
}

impl Accelerator {
    /// The domain type libvirt takes.
    fn domain_type(self) -> &'static str {
        match self {
            Accelerator::Kvm => "kvm",
            Accelerator::Tcg => "qemu",
        }
    }

    /// KVM where `/dev/kvm` exists, else TCG.
    pub fn of_host() -> Accelerator {
        if std::path::Path::new("/dev/kvm").exists() {
            Accelerator::Kvm
        } else {
            Accelerator::Tcg
        }
    }
}

impl std::str::FromStr for Accelerator {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "kvm" => Ok(Accelerator::Kvm),
            "tcg" | "qemu" => Ok(Accelerator::Tcg),
            other => Err(format!("{other:?} is not an accelerator: kvm or tcg")),
        }
    }
}

/// Where a file the guest needs comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A file on the host.
    Path(PathBuf),
    /// An artifact of the node, written into the instance's directory when it is not a file.
    Artifact {
        /// The artifact's name.
        name: String,
        /// Where its content is.
        location: ArtifactLocation,
    },
}

/// Everything needed to define one virtual machine instance.
#[derive(Clone, Debug, PartialEq)]
pub struct DomainPlan {
    /// `namespace/service/instance`, for messages.
    pub instance: String,
    /// The domain's name.
    pub name: String,
    /// The namespace, service and instance it belongs to, kept in its metadata.
    pub owner: [String; 3],
    /// Its memory, in KiB.
    pub memory_kib: u64,
    /// Its virtual CPUs.
    pub cpus: u32,
    /// A kernel to boot directly, with its initrd and command line.
    pub kernel: Option<(Source, Option<Source>, String)>,
    /// The disk image whose copy it boots.
    pub disk: Option<Source>,
    /// The instance's directory (its disk copy, serial log and written artifacts).
    pub state_dir: PathBuf,
    /// The reserved ports forwarded to the same port of the guest.
    pub forwards: Vec<PublishedPort>,
    /// What the requirements give it (`<NAME>_HOST`, `<NAME>_PORT`, …), which a directly
    /// booted kernel hands to its init as environment variables.
    pub environment: BTreeMap<String, String>,
    /// When it is started again after it powered off or crashed.
    pub restart: RestartPolicy,
    /// The cloud-init NoCloud seed's files (name and content), when it has one.
    pub seed: Option<Vec<(&'static str, String)>>,
    /// The host bridge its network card is on; `None` for QEMU's user-mode network.
    pub bridge: Option<String>,
}

impl DomainPlan {
    /// Works out the plan from the instance, or says what is wrong with it.
    pub fn of(spec: &InstanceSpec) -> Result<DomainPlan, DelegateError> {
        let instance = spec.qualified_name();
        let properties = VirtualMachineProperties::from_properties(&spec.properties, &instance)?;
        let invalid = |message: String| DelegateError::InvalidProperties {
            instance: instance.clone(),
            message,
        };
        let source = |property: &str, reference: &FileReference| {
            source(spec, property, reference).map_err(&invalid)
        };
        let kernel = match &properties.kernel {
            Some(kernel) => {
                let initrd = properties.initrd.as_ref().map(|i| source("initrd", i));
                Some((
                    source("kernel", kernel)?,
                    initrd.transpose()?,
                    properties.kernel_arguments.clone(),
                ))
            }
            None if properties.initrd.is_some() => {
                return Err(invalid("it has an `initrd` but no `kernel`".into()));
            }
            None => None,
        };
        let disk = properties
            .image
            .as_ref()
            .map(|image| source("image", image))
            .transpose()?;
        if kernel.is_none() && disk.is_none() {
            return Err(invalid(
                "it boots nothing: give it an `image` or a `kernel`".into(),
            ));
        }
        if properties.cpus == 0 || properties.memory.0 < (16 << 20) {
            return Err(invalid(
                "it needs at least one CPU and 16 MiB of memory".into(),
            ));
        }
        let forwards = published_ports(spec)?;
        let bridge = properties.bridge.filter(|bridge| !bridge.is_empty());
        if bridge.is_some() && !forwards.is_empty() {
            return Err(invalid(
                "on a bridge it is reached at its own address, so the reserved ports it connects to cannot be forwarded to it; connect it to no port, or leave out `bridge`".into(),
            ));
        }
        Ok(DomainPlan {
            instance,
            name: spec.workload_name(),
            owner: [
                spec.namespace.clone(),
                spec.service.clone(),
                spec.instance.clone(),
            ],
            memory_kib: properties.memory.0 / 1024,
            cpus: properties.cpus,
            kernel,
            disk,
            state_dir: spec.state_dir.clone(),
            forwards,
            environment: Wiring::of(spec)?.environment,
            restart: properties.restart,
            seed: properties
                .cloud_init
                .map(|cloud_init| seed_files(cloud_init, spec)),
            bridge,
        })
    }

    /// Where its cloud-init seed image goes.
    pub fn seed_image(&self) -> PathBuf {
        self.state_dir.join("seed.iso")
    }

    /// The file its serial console is appended to.
    pub fn serial_log(&self) -> PathBuf {
        self.state_dir.join("serial.log")
    }

    /// Where its own copy of the disk goes.
    pub fn disk_copy(&self) -> PathBuf {
        self.state_dir.join("disk.qcow2")
    }

    /// The metadata element that marks the domain as this instance's.
    pub fn metadata(&self) -> String {
        let [namespace, service, instance] = &self.owner;
        format!(
            "<khutulun:instance xmlns:khutulun='{METADATA_NAMESPACE}' namespace='{}' service='{}' instance='{}'/>",
            escape(namespace),
            escape(service),
            escape(instance)
        )
    }

    /// Whether a domain's XML carries this instance's metadata (and is not a domain of the
    /// same name that Khutulun did not make).
    pub fn owns(&self, xml: &str) -> bool {
        let [namespace, service, instance] = &self.owner;
        xml.contains(METADATA_NAMESPACE)
            && [
                ("namespace", namespace),
                ("service", service),
                ("instance", instance),
            ]
            .iter()
            .all(|(key, value)| {
                let value = escape(value);
                xml.contains(&format!("{key}='{value}'"))
                    || xml.contains(&format!("{key}=\"{value}\""))
            })
    }

    /// Its network card: on the host bridge (an `<interface>`), or on QEMU's user-mode network
    /// with the reserved ports forwarded (QEMU arguments, as libvirt's own user-mode interface
    /// cannot forward ports), always at the same PCI slot so the guest names it alike.
    fn network(&self) -> (String, String) {
        if let Some(bridge) = &self.bridge {
            let interface = format!(
                "<interface type='bridge'><source bridge='{}'/><model type='virtio'/>\
<address type='pci' domain='0x0000' bus='0x00' slot='0x10' function='0x0'/></interface>",
                escape(bridge)
            );
            return (interface, String::new());
        }
        let forwards: String = self
            .forwards
            .iter()
            .map(|port| {
                format!(
                    ",hostfwd={}:{}:{}-:{}",
                    port.protocol, port.address, port.port, port.port
                )
            })
            .collect();
        let user_network = format!(
            "<qemu:commandline>\
<qemu:arg value='-netdev'/><qemu:arg value='user,id=khutulun0{}'/>\
<qemu:arg value='-device'/><qemu:arg value='virtio-net-pci,netdev=khutulun0,addr=0x10'/>\
</qemu:commandline>",
            escape(&forwards)
        );
        (String::new(), user_network)
    }

    /// The domain XML, with `kernel`, `initrd` and `disk` the files on this host (the disk
    /// being the instance's own copy), and its seed image when it has one.
    pub fn xml(
        &self,
        accelerator: Accelerator,
        kernel: Option<(&str, Option<&str>)>,
        disk: Option<&str>,
    ) -> String {
        let mut os = String::from("<type arch='x86_64'>hvm</type>");
        if let (Some((kernel, initrd)), Some((_, _, arguments))) = (kernel, &self.kernel) {
            os += &format!("<kernel>{}</kernel>", escape(kernel));
            if let Some(initrd) = initrd {
                os += &format!("<initrd>{}</initrd>", escape(initrd));
            }
            os += &format!(
                "<cmdline>{}</cmdline>",
                escape(&command_line(arguments, &self.environment))
            );
        } else {
            os += "<boot dev='hd'/>";
        }
        let disk = disk.map_or(String::new(), |disk| {
            format!(
                "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{}'/><target dev='vda' bus='virtio'/></disk>",
                escape(disk)
            )
        });
        let seed = self.seed.as_ref().map_or(String::new(), |_| {
            format!(
                "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{}'/><target dev='vdb' bus='virtio'/><readonly/></disk>",
                escape(&self.seed_image().to_string_lossy())
            )
        });
        let (interface, user_network) = self.network();
        format!(
            "<domain type='{kind}' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\
<name>{name}</name>\
<metadata>{metadata}</metadata>\
<memory unit='KiB'>{memory}</memory>\
<vcpu>{cpus}</vcpu>\
<os>{os}</os>\
<on_poweroff>{after_poweroff}</on_poweroff><on_reboot>restart</on_reboot><on_crash>{after_crash}</on_crash>\
<devices>{disk}{seed}{interface}<memballoon model='none'/>\
<serial type='file'><source path='{serial}' append='on'/><target port='0'/></serial>\
</devices>\
{user_network}\
</domain>",
            kind = accelerator.domain_type(),
            name = escape(&self.name),
            metadata = self.metadata(),
            memory = self.memory_kib,
            cpus = self.cpus,
            serial = escape(&self.serial_log().to_string_lossy()),
            after_poweroff = lifecycle_action(self.restart.after_success()),
            after_crash = lifecycle_action(self.restart.after_failure()),
        )
    }
}

/// The kernel's command line: its arguments, then each variable as `NAME=value`, which the
/// kernel passes to init as its environment (a value with a space is quoted; one with a quote
/// cannot be written there and is left out).
fn command_line(arguments: &str, environment: &BTreeMap<String, String>) -> String {
    let mut line = arguments.trim().to_owned();
    for (name, value) in environment {
        if value.contains('"') {
            continue;
        }
        line.push(' ');
        if value.contains(char::is_whitespace) {
            line += &format!("{name}=\"{value}\"");
        } else {
            line += &format!("{name}={value}");
        }
    }
    line
}

/// The files of a NoCloud seed: `user-data`, `meta-data` (by default the instance's id,
/// which cloud-init keys its first boot on, and its host name) and `network-config`.
fn seed_files(cloud_init: CloudInit, spec: &InstanceSpec) -> Vec<(&'static str, String)> {
    let meta_data = cloud_init.meta_data.unwrap_or_else(|| {
        format!(
            "instance-id: {}\nlocal-hostname: {}\n",
            spec.workload_name(),
            spec.instance
        )
    });
    let mut files = vec![
        ("user-data", cloud_init.user_data),
        ("meta-data", meta_data),
    ];
    files.extend(
        cloud_init
            .network_config
            .map(|config| ("network-config", config)),
    );
    files
}

/// What libvirt does when the guest ends: start it again (so the guest outlives the agent and
/// restarts as a container would), or leave it off.
fn lifecycle_action(restart: bool) -> &'static str {
    if restart { "restart" } else { "destroy" }
}

/// Where the file a `FileReference` property names comes from.
fn source(
    spec: &InstanceSpec,
    property: &str,
    reference: &FileReference,
) -> Result<Source, String> {
    match (&reference.path, &reference.artifact) {
        (Some(path), None) if path.starts_with('/') => Ok(Source::Path(PathBuf::from(path))),
        (Some(path), None) => Err(format!("its {property} path {path:?} must be absolute")),
        (None, Some(name)) => match spec.artifacts.get(name) {
            Some(artifact) => match &artifact.location {
                ArtifactLocation::File { path } => Ok(Source::Path(PathBuf::from(path))),
                location => Ok(Source::Artifact {
                    name: name.clone(),
                    location: location.clone(),
                }),
            },
            None => Err(format!(
                "its {property} names the artifact {name:?}, which the node does not have"
            )),
        },
        _ => Err(format!(
            "its {property} must give exactly one of `path` or `artifact`"
        )),
    }
}

/// Text as XML character data or an attribute value.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delegates::profile::types;
    use crate::delegates::protocol::{Artifact, TypeRef};
    use crate::delegates::testing;

    fn vm(properties: serde_json::Value) -> InstanceSpec {
        testing::spec("shop", "vm-0", types::VIRTUAL_MACHINE, properties, vec![])
    }

    /// A connection to the reserved TCP port 20080 of 127.0.0.1.
    fn port_20080() -> crate::delegates::protocol::Dependency {
        let mut port = testing::dependency(
            "connection",
            &[types::TCP_PORT, types::PORT],
            serde_json::json!({"address": "127.0.0.1", "port": 20080}),
            serde_json::json!({}),
        );
        port.relationship_types = vec![TypeRef::khutulun(types::CONNECTS_TO)];
        port
    }

    #[test]
    fn a_kernel_boot_becomes_a_domain_with_its_serial_log_and_forwarded_ports() {
        let mut spec = vm(serde_json::json!({
            "kernel": {"path": "/boot/vmlinuz"},
            "initrd": {"artifact": "initrd"},
            "kernel_arguments": "console=ttyS0 quiet",
            "memory": "256 MiB",
            "cpus": 2,
        }));
        spec.artifacts.insert(
            "initrd".into(),
            Artifact {
                types: vec![TypeRef::khutulun("Root")],
                file: "initrd.gz".into(),
                location: ArtifactLocation::File {
                    path: "/srv/initrd.gz".into(),
                },
            },
        );
        spec.requirements.push(port_20080());
        let plan = DomainPlan::of(&spec).unwrap();
        assert_eq!(plan.memory_kib, 256 * 1024);
        assert_eq!(plan.cpus, 2);
        assert_eq!(plan.disk, None);
        let xml = plan.xml(
            Accelerator::Tcg,
            Some(("/boot/vmlinuz", Some("/srv/initrd.gz"))),
            None,
        );
        for part in [
            "<domain type='qemu'",
            &format!("<name>{}</name>", spec.workload_name()),
            "<memory unit='KiB'>262144</memory>",
            "<vcpu>2</vcpu>",
            "<kernel>/boot/vmlinuz</kernel>",
            "<initrd>/srv/initrd.gz</initrd>",
            "<cmdline>console=ttyS0 quiet CONNECTION_HOST=127.0.0.1 CONNECTION_PORT=20080 \
             KHUTULUN_INSTANCE=vm-0 KHUTULUN_NAMESPACE=default KHUTULUN_SERVICE=shop</cmdline>",
            "hostfwd=tcp:127.0.0.1:20080-:20080",
            "serial.log' append='on'",
            "<on_poweroff>destroy</on_poweroff>",
            "<on_crash>restart</on_crash>",
        ] {
            assert!(xml.contains(part), "{part} is not in {xml}");
        }
        assert!(plan.owns(&xml), "{xml}");
        let mut other = plan.clone();
        other.owner[2] = "vm-1".into();
        assert!(!other.owns(&xml));
    }

    #[test]
    fn a_cloud_init_seed_is_a_read_only_disk_with_default_meta_data() {
        let plan = DomainPlan::of(&vm(serde_json::json!({
            "image": {"path": "/srv/debian.qcow2"},
            "cloud_init": {"user_data": "#cloud-config\npackages: [nginx]\n"},
        })))
        .unwrap();
        let spec = vm(serde_json::json!({}));
        assert_eq!(
            plan.seed,
            Some(vec![
                ("user-data", "#cloud-config\npackages: [nginx]\n".to_owned()),
                (
                    "meta-data",
                    format!(
                        "instance-id: {}\nlocal-hostname: vm-0\n",
                        spec.workload_name()
                    )
                ),
            ])
        );
        let xml = plan.xml(Accelerator::Kvm, None, Some("/run/disk.qcow2"));
        let seed = format!(
            "<source file='{}'/><target dev='vdb' bus='virtio'/><readonly/>",
            plan.seed_image().display()
        );
        assert!(xml.contains(&seed), "{xml}");

        let given = DomainPlan::of(&vm(serde_json::json!({
            "image": {"path": "/srv/debian.qcow2"},
            "cloud_init": {"user_data": "#!/bin/sh\n", "meta_data": "instance-id: mine\n", "network_config": "version: 2\n"},
        })))
        .unwrap();
        let names: Vec<&str> = given
            .seed
            .as_ref()
            .unwrap()
            .iter()
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(names, ["user-data", "meta-data", "network-config"]);
        assert_eq!(given.seed.as_ref().unwrap()[1].1, "instance-id: mine\n");
        let none =
            DomainPlan::of(&vm(serde_json::json!({"image": {"path": "/srv/d.qcow2"}}))).unwrap();
        assert!(!none.xml(Accelerator::Kvm, None, Some("/d")).contains("vdb"));
    }

    #[test]
    fn a_bridged_machine_has_an_interface_and_no_forwarded_ports() {
        let mut spec = vm(serde_json::json!({"image": {"path": "/srv/d.qcow2"}, "bridge": "br0"}));
        let plan = DomainPlan::of(&spec).unwrap();
        let xml = plan.xml(Accelerator::Kvm, None, Some("/d"));
        assert!(
            xml.contains("<interface type='bridge'><source bridge='br0'/><model type='virtio'/>"),
            "{xml}"
        );
        assert!(!xml.contains("qemu:commandline"), "{xml}");
        let user = DomainPlan::of(&vm(serde_json::json!({"image": {"path": "/srv/d.qcow2"}})))
            .unwrap()
            .xml(Accelerator::Kvm, None, Some("/d"));
        assert!(user.contains("user,id=khutulun0"), "{user}");
        assert!(!user.contains("<interface"), "{user}");

        spec.requirements.push(port_20080());
        let refused = DomainPlan::of(&spec).unwrap_err().to_string();
        assert!(refused.contains("cannot be forwarded"), "{refused}");
    }

    #[test]
    fn a_disk_boot_uses_the_instances_copy() {
        let plan = DomainPlan::of(&vm(
            serde_json::json!({"image": {"path": "/srv/disk.qcow2"}}),
        ))
        .unwrap();
        assert_eq!(plan.disk, Some(Source::Path("/srv/disk.qcow2".into())));
        assert_eq!(plan.memory_kib, 512 * 1024);
        let copy = plan.disk_copy();
        let xml = plan.xml(Accelerator::Kvm, None, Some(copy.to_str().unwrap()));
        assert!(xml.contains("<domain type='kvm'"), "{xml}");
        assert!(xml.contains("<boot dev='hd'/>"), "{xml}");
        assert!(
            xml.contains(&format!("<source file='{}'/>", copy.display())),
            "{xml}"
        );
        assert!(!xml.contains("<kernel>"), "{xml}");
    }

    #[test]
    fn what_cannot_boot_is_explained() {
        let error = |properties| DomainPlan::of(&vm(properties)).unwrap_err().to_string();
        assert!(error(serde_json::json!({})).contains("boots nothing"));
        assert!(error(serde_json::json!({"initrd": {"path": "/i"}})).contains("no `kernel`"));
        assert!(
            error(serde_json::json!({"kernel": {"path": "vmlinuz"}})).contains("must be absolute")
        );
        assert!(
            error(serde_json::json!({"kernel": {"artifact": "k"}}))
                .contains("the node does not have")
        );
        assert!(
            error(serde_json::json!({"image": {"path": "/d", "artifact": "d"}}))
                .contains("exactly one")
        );
        assert!(
            error(serde_json::json!({"image": {"path": "/d"}, "memory": "1 MiB"}))
                .contains("16 MiB")
        );
    }

    #[test]
    fn variables_reach_init_on_the_command_line() {
        let environment = BTreeMap::from([
            ("A".to_owned(), "1".to_owned()),
            ("B".to_owned(), "two words".to_owned()),
            ("C".to_owned(), "a \"quote\"".to_owned()),
        ]);
        assert_eq!(
            command_line(" console=ttyS0 ", &environment),
            "console=ttyS0 A=1 B=\"two words\""
        );
    }

    #[test]
    fn names_in_the_xml_are_escaped() {
        assert_eq!(escape("a<b>&'\""), "a&lt;b&gt;&amp;&apos;&quot;");
    }
}
