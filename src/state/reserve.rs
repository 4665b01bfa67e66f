//! Room kept for deleting on a full disk. Marking a service deleted and removing its records
//! replace files, and a replacement needs room for a moment; on a full disk even the write
//! that would free space fails. So the store keeps a reserve file of [`RESERVE_BYTES`] beside
//! its locks: a transaction that frees space and finds the disk full removes it and tries
//! again, and the reserve is made again once there is room.

use std::path::PathBuf;

use super::StoreError;
use super::fs::Filesystem;
use super::layout::Layout;

/// The reserve's size: many times what one record's replacement takes.
pub const RESERVE_BYTES: usize = 256 * 1024;

/// The reserve file.
fn path(layout: &Layout) -> PathBuf {
    layout.locks().join("reserve")
}

/// Makes the reserve when it is missing; whether it is there now. Best effort: on a full
/// disk it is not, and is tried again later.
pub fn keep(fs: &dyn Filesystem, layout: &Layout) -> bool {
    let path = path(layout);
    let present = fs
        .list(&layout.locks())
        .is_ok_and(|names| names.iter().any(|n| n == "reserve"));
    present || fs.write_atomic(&path, &vec![0; RESERVE_BYTES]).is_ok()
}

/// Removes the reserve, so that a write that frees space finds room.
pub fn spend(fs: &dyn Filesystem, layout: &Layout) -> Result<(), StoreError> {
    let path = path(layout);
    fs.remove_file(&path)
        .map_err(|e| StoreError::io("remove", &path, e))
}
