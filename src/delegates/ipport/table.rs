//! One host's port reservations, and the pure rules for handing ports out.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use crate::delegates::profile::Protocol;
use crate::delegates::protocol::DelegateError;

/// A port held by an instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortReservation {
    /// The port number.
    pub port: u16,
    /// TCP or UDP (a TCP and a UDP port of the same number are different ports).
    pub protocol: Protocol,
    /// Who holds it: `service/instance`.
    pub owner: String,
}

/// The port reservations of one host (`ports/<host>.yaml` in the shared store).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortTable {
    /// Every port held, in the order they were reserved.
    #[serde(default)]
    pub reservations: Vec<PortReservation>,
    /// Where the next search of the range starts, so a released port is not handed out again
    /// at once (a client of the old instance might still be trying it).
    #[serde(default)]
    pub next: Option<u16>,
}

impl PortTable {
    /// The reservation of `port`/`protocol`, if any.
    pub fn holder(&self, protocol: Protocol, port: u16) -> Option<&PortReservation> {
        self.reservations
            .iter()
            .find(|r| r.protocol == protocol && r.port == port)
    }

    /// The ports `owner` holds.
    pub fn held_by<'a>(&'a self, owner: &'a str) -> impl Iterator<Item = &'a PortReservation> {
        self.reservations.iter().filter(move |r| r.owner == owner)
    }

    /// Reserves a port for `owner`: `wanted` if not 0 (it may lie outside `range`), else the
    /// first port of `range` after the last one handed out that is neither reserved nor in use
    /// (`is_free` says whether the system lets us bind it). An owner asking again for the same
    /// protocol (and the same port, or any) gets what it already holds.
    pub fn reserve(
        &mut self,
        owner: &str,
        protocol: Protocol,
        wanted: u16,
        range: &RangeInclusive<u16>,
        host: &str,
        is_free: &dyn Fn(Protocol, u16) -> bool,
    ) -> Result<u16, DelegateError> {
        if let Some(held) = self
            .held_by(owner)
            .find(|r| r.protocol == protocol && (wanted == 0 || r.port == wanted))
        {
            return Ok(held.port);
        }
        let port = if wanted != 0 {
            if let Some(holder) = self.holder(protocol, wanted) {
                return Err(DelegateError::Exhausted(format!(
                    "port {wanted}/{protocol} on host {host} is already reserved for {}",
                    holder.owner
                )));
            }
            if !is_free(protocol, wanted) {
                return Err(DelegateError::Exhausted(format!(
                    "port {wanted}/{protocol} on host {host} is in use by a program outside Khutulun"
                )));
            }
            wanted
        } else {
            let (first, last) = (*range.start(), *range.end());
            if first == 0 || first > last {
                return Err(DelegateError::Failed(format!(
                    "the port range {first}-{last} of host {host} is empty or starts at 0"
                )));
            }
            let start = self
                .next
                .filter(|next| range.contains(next))
                .unwrap_or(first);
            let size = u32::from(last - first) + 1;
            let candidates = (0..size).map(|step| {
                let offset = (u32::from(start - first) + step) % size;
                first + u16::try_from(offset).expect("offset within the range")
            });
            let mut chosen = None;
            for candidate in candidates {
                if self.holder(protocol, candidate).is_none() && is_free(protocol, candidate) {
                    chosen = Some(candidate);
                    break;
                }
            }
            let port = chosen.ok_or_else(|| {
                DelegateError::Exhausted(format!(
                    "no {protocol} port is free in the range {first}-{last} of host {host}"
                ))
            })?;
            self.next = Some(if port == last { first } else { port + 1 });
            port
        };
        self.reservations.push(PortReservation {
            port,
            protocol,
            owner: owner.to_owned(),
        });
        Ok(port)
    }

    /// Releases every port `owner` holds; returns how many.
    pub fn release(&mut self, owner: &str) -> usize {
        let before = self.reservations.len();
        self.reservations.retain(|r| r.owner != owner);
        before - self.reservations.len()
    }
}

/// Whether a program could bind `port` on every address of this host right now (IPv4, and
/// IPv6 where the host has it).
pub fn is_port_free(protocol: Protocol, port: u16) -> bool {
    let bind = |address: SocketAddr| match protocol {
        Protocol::Tcp => TcpListener::bind(address).map(drop),
        Protocol::Udp => UdpSocket::bind(address).map(drop),
    };
    let v4 = bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)));
    let v6 = bind(SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)));
    let v6_missing = |error: &std::io::Error| {
        matches!(
            error.raw_os_error(),
            Some(libc_errno) if libc_errno == nix::errno::Errno::EAFNOSUPPORT as i32
                || libc_errno == nix::errno::Errno::EADDRNOTAVAIL as i32
        )
    };
    v4.is_ok() && v6.as_ref().map_or_else(v6_missing, |()| true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_free(_: Protocol, _: u16) -> bool {
        true
    }

    #[test]
    fn ports_are_never_handed_out_twice() {
        let mut table = PortTable::default();
        let range = 20000..=20004;
        let mut granted: Vec<u16> = (0..5)
            .map(|i| {
                table
                    .reserve(
                        &format!("s/p-{i}"),
                        Protocol::Tcp,
                        0,
                        &range,
                        "h",
                        &all_free,
                    )
                    .unwrap()
            })
            .collect();
        granted.sort();
        assert_eq!(granted, [20000, 20001, 20002, 20003, 20004]);
        let error = table
            .reserve("s/p-5", Protocol::Tcp, 0, &range, "h", &all_free)
            .unwrap_err();
        assert!(error.to_string().contains("no tcp port is free"), "{error}");
        // UDP ports are a different space.
        assert_eq!(
            table
                .reserve("s/u-0", Protocol::Udp, 0, &range, "h", &all_free)
                .unwrap(),
            20000
        );
    }

    #[test]
    fn asking_again_gives_the_same_port() {
        let mut table = PortTable::default();
        let range = 20000..=29999;
        let first = table
            .reserve("s/p-0", Protocol::Tcp, 0, &range, "h", &all_free)
            .unwrap();
        let again = table
            .reserve("s/p-0", Protocol::Tcp, 0, &range, "h", &all_free)
            .unwrap();
        assert_eq!(first, again);
        assert_eq!(table.reservations.len(), 1);
    }

    #[test]
    fn a_released_port_is_not_reused_at_once() {
        let mut table = PortTable::default();
        let range = 20000..=20002;
        let first = table
            .reserve("s/a-0", Protocol::Tcp, 0, &range, "h", &all_free)
            .unwrap();
        assert_eq!(table.release("s/a-0"), 1);
        let second = table
            .reserve("s/b-0", Protocol::Tcp, 0, &range, "h", &all_free)
            .unwrap();
        assert_ne!(first, second);
        assert_eq!(table.release("s/a-0"), 0);
    }

    #[test]
    fn ports_in_use_outside_khutulun_are_skipped() {
        let mut table = PortTable::default();
        let busy = |_: Protocol, port: u16| port != 20000;
        let port = table
            .reserve("s/p-0", Protocol::Tcp, 0, &(20000..=20009), "h", &busy)
            .unwrap();
        assert_eq!(port, 20001);
        let error = table
            .reserve("s/q-0", Protocol::Tcp, 20000, &(20000..=20009), "h", &busy)
            .unwrap_err();
        assert!(
            error.to_string().contains("in use by a program outside"),
            "{error}"
        );
    }

    #[test]
    fn a_wanted_port_held_by_another_instance_is_refused_with_its_holder() {
        let mut table = PortTable::default();
        let range = 20000..=20009;
        table
            .reserve("s/web-0", Protocol::Tcp, 8080, &range, "alpha", &all_free)
            .unwrap();
        let error = table
            .reserve("t/api-0", Protocol::Tcp, 8080, &range, "alpha", &all_free)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "port 8080/tcp on host alpha is already reserved for s/web-0"
        );
    }

    #[test]
    fn the_bind_test_sees_a_real_listener() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(!is_port_free(Protocol::Tcp, port));
        drop(listener);
        assert!(is_port_free(Protocol::Tcp, port));
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = socket.local_addr().unwrap().port();
        assert!(!is_port_free(Protocol::Udp, port));
    }

    #[test]
    fn the_bind_test_sees_an_ipv6_only_listener() {
        let Ok(listener) = TcpListener::bind((Ipv6Addr::LOCALHOST, 0)) else {
            eprintln!("no IPv6 on this host: nothing to check");
            return;
        };
        let port = listener.local_addr().unwrap().port();
        assert!(!is_port_free(Protocol::Tcp, port));
    }
}
