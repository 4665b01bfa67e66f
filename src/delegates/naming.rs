//! The names Khutulun gives a node instance outside itself: systemd units, Podman containers
//! and pods, nspawn machines. One rule for all of them, so that two services of the same name
//! in two namespaces never share a workload, and a name always leads back to one instance.
//!
//! The name is `khutulun-<namespace>.<service>.<instance>`. Namespace and service names start
//! with a letter or digit (the store checks that), so with each `.` inside them written `..`
//! the first two single dots are the separators and the name decodes one way only. Characters
//! that systemd or Podman refuse become `_`. A name longer than [`MAX_NAME`] keeps its start
//! and ends in a hash of the whole, so it stays within systemd's and Podman's limits.

/// The longest workload name: systemd allows 255 characters for a unit (with `.service`),
/// and shorter names keep `podman ps` and `systemctl` readable.
pub const MAX_NAME: usize = 128;

/// What every workload name starts with, so an administrator sees what Khutulun made.
pub const PREFIX: &str = "khutulun-";

/// The workload name of instance `instance` of `namespace/service` (see the module).
pub fn workload_name(namespace: &str, service: &str, instance: &str) -> String {
    let name = format!(
        "{PREFIX}{}.{}.{}",
        escape(namespace),
        escape(service),
        clean(instance)
    );
    fit(name, MAX_NAME)
}

/// `name` as it is when it has at most `limit` characters; else its first characters, `-`
/// and 16 hexadecimal digits of a hash of the whole name, `limit` characters in all.
pub fn fit(name: String, limit: usize) -> String {
    if name.len() <= limit {
        return name;
    }
    let hash = format!("-{:016x}", fnv1a(name.as_bytes()));
    let keep = limit.saturating_sub(hash.len());
    format!("{}{hash}", &name[..keep])
}

/// A name component with `.` doubled and what systemd or Podman refuse replaced by `_`.
fn escape(component: &str) -> String {
    clean(component).replace('.', "..")
}

/// `text` with every character outside `[A-Za-z0-9_.-]` (what both systemd units and Podman
/// names accept) replaced by `_`.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The 64-bit FNV-1a hash: stable across Rust releases and hosts (std's hasher is not), so
/// a shortened name is the same everywhere and after every upgrade.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_namespace_the_service_and_the_instance() {
        assert_eq!(
            workload_name("default", "hello", "web-0"),
            "khutulun-default.hello.web-0"
        );
        assert_ne!(
            workload_name("default", "dup", "web-0"),
            workload_name("ns2", "dup", "web-0")
        );
    }

    #[test]
    fn dots_and_dashes_in_names_cannot_make_two_instances_share_a_name() {
        // Namespace and service names never start with a dot (the store refuses them).
        let cases = [
            ("a", "b.c", "d-0"),
            ("a.b", "c", "d-0"),
            ("a", "b", "c.d-0"),
            ("a.", "b", "c-0"),
            ("a", "b.", "c-0"),
            ("a-b", "c", "d-0"),
            ("a", "b-c", "d-0"),
        ];
        let names: std::collections::BTreeSet<String> = cases
            .iter()
            .map(|(ns, service, instance)| workload_name(ns, service, instance))
            .collect();
        assert_eq!(names.len(), cases.len(), "{names:?}");
    }

    #[test]
    fn characters_units_and_containers_refuse_become_underscores() {
        assert_eq!(
            workload_name("default", "team/shop", "api gateway@1"),
            "khutulun-default.team_shop.api_gateway_1"
        );
    }

    #[test]
    fn long_names_are_cut_with_a_hash_of_the_whole() {
        let long = "s".repeat(128);
        let one = workload_name("default", &long, "web-0");
        let other = workload_name("default", &long, "web-1");
        assert_eq!(one.len(), MAX_NAME);
        assert_eq!(other.len(), MAX_NAME);
        assert_ne!(one, other);
        assert!(one.starts_with("khutulun-default.sss"));
        assert_eq!(one, workload_name("default", &long, "web-0"), "stable");
    }
}
