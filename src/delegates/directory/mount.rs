//! The commands that mount and unmount a networked directory, as pure functions of its source,
//! its mount point and its options, so that their arguments are tested without a server.
//!
//! A source is a URL: `sshfs://[user@]server[:port]/path` mounts `path` of `server` over SSH
//! with `sshfs` (FUSE; unmounted with `fusermount -u`), and `nfs://server[:port]/export`
//! mounts an NFS export with `mount -t nfs` (unmounted with `umount`). Anything else is
//! refused with the reason, before anything is run.
//!
//! ```
//! use std::path::Path;
//! use khutulun::delegates::directory::{MountSource, mount_command};
//! let source = MountSource::parse("sshfs://backup@files.example:2222/srv/data").unwrap();
//! let command = mount_command(&source, Path::new("/mnt/data"), &["ro".into()], None).unwrap();
//! assert_eq!(command.program, "sshfs");
//! assert_eq!(command.arguments[0], "backup@files.example:/srv/data");
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// How a networked directory is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// SFTP over SSH, mounted through FUSE by `sshfs`.
    Sshfs,
    /// NFS, mounted by the kernel's NFS client.
    Nfs,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Sshfs => "sshfs",
            Protocol::Nfs => "nfs",
        })
    }
}

/// A networked directory's `source`, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountSource {
    /// How it is reached.
    pub protocol: Protocol,
    /// Who logs in (sshfs only); ssh's default user when `None`.
    pub user: Option<String>,
    /// The server's name or address (an IPv6 address without its brackets).
    pub host: String,
    /// The server's port, when not the protocol's default.
    pub port: Option<u16>,
    /// The directory on the server, absolute.
    pub path: String,
}

/// Why a source or an option cannot be mounted; each says what to write instead.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum MountError {
    /// The source is not a URL of a protocol Khutulun mounts.
    #[error(
        "the source {0:?} is not one Khutulun mounts; write sshfs://[user@]server[:port]/path or nfs://server[:port]/export"
    )]
    UnknownProtocol(String),
    /// The source names a known protocol but is malformed.
    #[error("the source {text:?} {reason}")]
    Malformed {
        /// The source as written.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A mount option that cannot be passed on.
    #[error("the mount option {option:?} {reason}")]
    BadOption {
        /// The option as written.
        option: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An identity file for a protocol that logs in with none, or one given as a relative path.
    #[error("identity_file {0}")]
    BadIdentityFile(String),
}

/// A program and its arguments, to run as they are (no shell).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandLine {
    /// The program, looked up in PATH.
    pub program: String,
    /// Its arguments.
    pub arguments: Vec<String>,
}

impl fmt::Display for CommandLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.program)?;
        for argument in &self.arguments {
            write!(f, " {argument}")?;
        }
        Ok(())
    }
}

impl MountSource {
    /// Reads a source URL, refusing what could not be mounted or could be misread as an option.
    pub fn parse(text: &str) -> Result<MountSource, MountError> {
        let malformed = |reason: &str| MountError::Malformed {
            text: text.to_owned(),
            reason: reason.to_owned(),
        };
        let (protocol, rest) = match text.split_once("://") {
            Some(("sshfs", rest)) => (Protocol::Sshfs, rest),
            Some(("nfs", rest)) => (Protocol::Nfs, rest),
            _ => return Err(MountError::UnknownProtocol(text.to_owned())),
        };
        if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(malformed("has a space or control character"));
        }
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        let (user, server) = match authority.rsplit_once('@') {
            Some((user, server)) => (Some(user), server),
            None => (None, authority),
        };
        if let Some(user) = user {
            if protocol == Protocol::Nfs {
                return Err(malformed("names a user, which NFS does not log in as"));
            }
            if !is_name(user) || user.starts_with('-') {
                return Err(malformed(
                    "has a user name that is not letters, digits, '.', '_' or '-'",
                ));
            }
        }
        let (host, port) = split_port(server).map_err(malformed)?;
        Ok(MountSource {
            protocol,
            user: user.map(str::to_owned),
            host,
            port,
            path: path.to_owned(),
        })
    }

    /// The remote directory as `sshfs` and `mount` take it, and as the mount table shows it:
    /// `[user@]host:/path` (an IPv6 address in brackets).
    pub fn remote(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match &self.user {
            Some(user) => format!("{user}@{host}:{}", self.path),
            None => format!("{host}:{}", self.path),
        }
    }

    /// Whether a mount of this type and source (as `/proc/self/mountinfo` shows them) is this
    /// directory, so that it is adopted rather than mounted a second time.
    pub fn is_mounted_as(&self, fstype: &str, source: &str) -> bool {
        let type_matches = match self.protocol {
            Protocol::Sshfs => fstype == "fuse.sshfs",
            Protocol::Nfs => fstype == "nfs" || fstype == "nfs4",
        };
        // sshfs shows the source as given; the kernel may drop a trailing slash.
        let remote = self.remote();
        type_matches
            && (source == remote || source.trim_end_matches('/') == remote.trim_end_matches('/'))
    }
}

fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// `server[:port]` or `[ipv6][:port]` → host and port.
fn split_port(server: &str) -> Result<(String, Option<u16>), &'static str> {
    let (host, port) = if let Some(bracketed) = server.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or("has an IPv6 address without its closing ']'")?;
        if host.is_empty() || !host.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return Err("has a malformed IPv6 address");
        }
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(
                    after
                        .strip_prefix(':')
                        .ok_or("has something after its IPv6 address")?,
                ),
            ),
        }
    } else {
        let (host, port) = match server.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (server, None),
        };
        if !is_name(host) || host.starts_with('-') {
            return Err("has no server, or one that is not a name or address");
        }
        (host, port)
    };
    let port = match port {
        Some(port) => Some(
            port.parse::<u16>()
                .ok()
                .filter(|&port| port > 0)
                .ok_or("has a port that is not a number from 1 to 65535")?,
        ),
        None => None,
    };
    Ok((host.to_owned(), port))
}

/// Refuses an option that is empty, holds a comma or space (one option per entry), or starts
/// with `-` (it would read as a command-line flag).
fn check_option(option: &str) -> Result<(), MountError> {
    let bad = |reason: &str| MountError::BadOption {
        option: option.to_owned(),
        reason: reason.to_owned(),
    };
    if option.is_empty() {
        Err(bad("is empty"))
    } else if option.contains(',') {
        Err(bad("holds a comma; give each option as its own entry"))
    } else if option.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err(bad("holds a space or control character"))
    } else if option.starts_with('-') {
        Err(bad(
            "starts with '-'; options are written without it, e.g. \"ro\"",
        ))
    } else {
        Ok(())
    }
}

/// The command that mounts `source` at `mount_point` with `options` (and, for sshfs, the
/// private key `identity_file`). sshfs never asks for a password (`BatchMode=yes`): a login
/// that needs one fails instead of hanging.
pub fn mount_command(
    source: &MountSource,
    mount_point: &Path,
    options: &[String],
    identity_file: Option<&Path>,
) -> Result<CommandLine, MountError> {
    for option in options {
        check_option(option)?;
    }
    let mount_point = mount_point.to_string_lossy().into_owned();
    match source.protocol {
        Protocol::Sshfs => {
            let mut arguments = vec![
                source.remote(),
                mount_point,
                "-o".into(),
                "BatchMode=yes".into(),
            ];
            if let Some(port) = source.port {
                arguments.extend(["-o".into(), format!("port={port}")]);
            }
            if let Some(identity) = identity_file {
                if !identity.is_absolute() {
                    return Err(MountError::BadIdentityFile(format!(
                        "{} must be an absolute path",
                        identity.display()
                    )));
                }
                arguments.extend(["-o".into(), format!("IdentityFile={}", identity.display())]);
            }
            for option in options {
                arguments.extend(["-o".into(), option.clone()]);
            }
            Ok(CommandLine {
                program: "sshfs".into(),
                arguments,
            })
        }
        Protocol::Nfs => {
            if identity_file.is_some() {
                return Err(MountError::BadIdentityFile(
                    "is for sshfs; NFS logs in with none".into(),
                ));
            }
            let mut all: Vec<String> = options.to_vec();
            if let Some(port) = source.port {
                all.push(format!("port={port}"));
            }
            let mut arguments = vec!["-t".into(), "nfs".into()];
            if !all.is_empty() {
                arguments.extend(["-o".into(), all.join(",")]);
            }
            arguments.extend([source.remote(), mount_point]);
            Ok(CommandLine {
                program: "mount".into(),
                arguments,
            })
        }
    }
}

/// The command that unmounts what `protocol` mounted at `mount_point` (`fusermount -u` for
/// FUSE, which needs no root; `umount` for NFS).
pub fn unmount_command(protocol: Protocol, mount_point: &Path) -> CommandLine {
    let mount_point = mount_point.to_string_lossy().into_owned();
    match protocol {
        Protocol::Sshfs => CommandLine {
            program: "fusermount".into(),
            arguments: vec!["-u".into(), mount_point],
        },
        Protocol::Nfs => CommandLine {
            program: "umount".into(),
            arguments: vec![mount_point],
        },
    }
}

/// The mount point of `source` when the template names none: `mount` in the instance's private
/// directory on this host.
pub fn default_mount_point(state_dir: &Path) -> PathBuf {
    state_dir.join("mount")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(command: &CommandLine) -> Vec<&str> {
        command.arguments.iter().map(String::as_str).collect()
    }

    #[test]
    fn sources_are_read_into_their_parts() {
        // source, protocol, user, host, port, path
        let table = [
            (
                "sshfs://user@server/srv/data",
                Protocol::Sshfs,
                Some("user"),
                "server",
                None,
                "/srv/data",
            ),
            ("sshfs://server", Protocol::Sshfs, None, "server", None, "/"),
            (
                "sshfs://a.b@10.0.0.5:2222/x",
                Protocol::Sshfs,
                Some("a.b"),
                "10.0.0.5",
                Some(2222),
                "/x",
            ),
            (
                "sshfs://u@[::1]:22/srv",
                Protocol::Sshfs,
                Some("u"),
                "::1",
                Some(22),
                "/srv",
            ),
            (
                "nfs://server/export",
                Protocol::Nfs,
                None,
                "server",
                None,
                "/export",
            ),
            (
                "nfs://nas.lan:2049/vol/a",
                Protocol::Nfs,
                None,
                "nas.lan",
                Some(2049),
                "/vol/a",
            ),
        ];
        for (text, protocol, user, host, port, path) in table {
            let source = MountSource::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(
                source,
                MountSource {
                    protocol,
                    user: user.map(str::to_owned),
                    host: host.to_owned(),
                    port,
                    path: path.to_owned(),
                },
                "{text}"
            );
        }
    }

    #[test]
    fn bad_sources_are_refused_with_the_reason() {
        let table = [
            ("/srv/data", "is not one Khutulun mounts"),
            ("smb://server/share", "is not one Khutulun mounts"),
            ("sshfs:/server/x", "is not one Khutulun mounts"),
            ("sshfs:///srv", "has no server"),
            ("sshfs://-oProxyCommand=x/srv", "has no server"),
            ("sshfs://server:0/srv", "has a port"),
            ("sshfs://server:ssh/srv", "has a port"),
            ("sshfs://server:70000/srv", "has a port"),
            ("sshfs://us er@server/srv", "space"),
            ("sshfs://-l@server/srv", "user name"),
            ("sshfs://[::1/srv", "closing ']'"),
            ("sshfs://[zz]/srv", "IPv6"),
            ("nfs://user@server/export", "NFS does not log in"),
        ];
        for (text, expected) in table {
            let error = MountSource::parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn sshfs_gets_its_remote_port_key_and_options() {
        let source = MountSource::parse("sshfs://backup@files:2222/srv/data").unwrap();
        let command = mount_command(
            &source,
            Path::new("/mnt/data"),
            &["ro".into(), "reconnect".into()],
            Some(Path::new("/etc/khutulun/id_ed25519")),
        )
        .unwrap();
        assert_eq!(command.program, "sshfs");
        assert_eq!(
            args(&command),
            [
                "backup@files:/srv/data",
                "/mnt/data",
                "-o",
                "BatchMode=yes",
                "-o",
                "port=2222",
                "-o",
                "IdentityFile=/etc/khutulun/id_ed25519",
                "-o",
                "ro",
                "-o",
                "reconnect",
            ]
        );
        let plain = mount_command(
            &MountSource::parse("sshfs://files/srv").unwrap(),
            Path::new("/mnt/x"),
            &[],
            None,
        )
        .unwrap();
        assert_eq!(
            args(&plain),
            ["files:/srv", "/mnt/x", "-o", "BatchMode=yes"]
        );
        assert_eq!(
            unmount_command(Protocol::Sshfs, Path::new("/mnt/x")).to_string(),
            "fusermount -u /mnt/x"
        );
    }

    #[test]
    fn nfs_gets_its_options_in_one_list() {
        let source = MountSource::parse("nfs://nas:2049/export/home").unwrap();
        let command = mount_command(
            &source,
            Path::new("/mnt/home"),
            &["vers=4.2".into(), "ro".into()],
            None,
        )
        .unwrap();
        assert_eq!(
            command.to_string(),
            "mount -t nfs -o vers=4.2,ro,port=2049 nas:/export/home /mnt/home"
        );
        let plain = mount_command(
            &MountSource::parse("nfs://[fd00::5]/e").unwrap(),
            Path::new("/m"),
            &[],
            None,
        )
        .unwrap();
        assert_eq!(plain.to_string(), "mount -t nfs [fd00::5]:/e /m");
        assert_eq!(
            unmount_command(Protocol::Nfs, Path::new("/m")).to_string(),
            "umount /m"
        );
        let keyed = mount_command(&source, Path::new("/m"), &[], Some(Path::new("/k")));
        assert!(matches!(keyed, Err(MountError::BadIdentityFile(_))));
    }

    #[test]
    fn bad_options_are_refused_before_anything_runs() {
        let source = MountSource::parse("sshfs://server/srv").unwrap();
        for (option, expected) in [
            ("", "is empty"),
            ("ro,reconnect", "comma"),
            ("allow other", "space"),
            ("-f", "starts with '-'"),
        ] {
            let error = mount_command(&source, Path::new("/m"), &[option.into()], None)
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{option:?}: {error}");
        }
        let relative = mount_command(&source, Path::new("/m"), &[], Some(Path::new("id_rsa")));
        assert!(
            relative
                .unwrap_err()
                .to_string()
                .contains("must be an absolute path")
        );
    }

    #[test]
    fn a_mount_is_recognised_by_its_type_and_source() {
        let sshfs = MountSource::parse("sshfs://u@h/srv/data").unwrap();
        assert!(sshfs.is_mounted_as("fuse.sshfs", "u@h:/srv/data"));
        assert!(!sshfs.is_mounted_as("fuse.sshfs", "u@h:/srv/other"));
        assert!(!sshfs.is_mounted_as("nfs", "u@h:/srv/data"));
        let nfs = MountSource::parse("nfs://nas/export/").unwrap();
        assert!(nfs.is_mounted_as("nfs4", "nas:/export"));
        assert!(!nfs.is_mounted_as("tmpfs", "nas:/export"));
    }
}
