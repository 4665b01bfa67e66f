//! What is mounted where, read from `/proc/self/mountinfo`: the only account of mounts that
//! survives an agent restart, so a restarted agent adopts a mount instead of mounting twice.

use std::path::{Path, PathBuf};

/// One line of the mount table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountEntry {
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// The filesystem type (`fuse.sshfs`, `nfs4`, …).
    pub fstype: String,
    /// What is mounted (`user@server:/path`, `server:/export`).
    pub source: String,
}

/// Reads the mount table's text (`man 5 proc`: fields, then ` - `, type, source, options).
/// Lines it cannot read are skipped.
pub fn parse(text: &str) -> Vec<MountEntry> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<MountEntry> {
    let (before, after) = line.split_once(" - ")?;
    let mount_point = before.split(' ').nth(4)?;
    let mut after = after.split(' ');
    let fstype = after.next()?;
    let source = after.next()?;
    Some(MountEntry {
        mount_point: PathBuf::from(unescape(mount_point)),
        fstype: unescape(fstype),
        source: unescape(source),
    })
}

/// Undoes the kernel's octal escapes (`\040` for a space, `\134` for a backslash …).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|digits| bytes[i] == b'\\' && digits.iter().all(|d| (b'0'..=b'7').contains(d)));
        match octal {
            Some(digits) => {
                let value = digits
                    .iter()
                    .fold(0u32, |value, d| value * 8 + u32::from(d - b'0'));
                out.push(value as u8);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The topmost mount at exactly `mount_point` (the last one listed there), if any.
pub fn at<'a>(entries: &'a [MountEntry], mount_point: &Path) -> Option<&'a MountEntry> {
    entries
        .iter()
        .rev()
        .find(|entry| entry.mount_point == mount_point)
}

/// This process's mount table, now.
pub fn read() -> std::io::Result<Vec<MountEntry>> {
    Ok(parse(&std::fs::read_to_string("/proc/self/mountinfo")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
46 27 0:40 / /run/k/mount rw,nosuid,nodev,relatime - fuse.sshfs root@127.0.0.1:/srv rw,user_id=0
47 22 0:41 / /mnt/with\\040space rw shared:5 master:1 - nfs4 nas:/export\\040x rw,vers=4.2
48 46 0:42 / /run/k/mount rw - fuse.sshfs root@127.0.0.1:/other rw
garbage
";

    #[test]
    fn the_table_is_read_with_escapes_undone() {
        let entries = parse(TABLE);
        assert_eq!(entries.len(), 4, "{entries:?}");
        assert_eq!(
            entries[2],
            MountEntry {
                mount_point: "/mnt/with space".into(),
                fstype: "nfs4".into(),
                source: "nas:/export x".into(),
            }
        );
        assert_eq!(entries[0].fstype, "ext4");
    }

    #[test]
    fn the_topmost_mount_at_a_point_counts() {
        let entries = parse(TABLE);
        let top = at(&entries, Path::new("/run/k/mount")).unwrap();
        assert_eq!(top.source, "root@127.0.0.1:/other");
        assert!(at(&entries, Path::new("/run/k")).is_none());
    }

    #[test]
    fn this_process_has_a_mount_table() {
        let entries = read().unwrap();
        assert!(at(&entries, Path::new("/")).is_some(), "{entries:?}");
    }
}
