//! The directory delegate: local directories, persistent or temporary, with an owner and mode.
//!
//! `Create` makes the directory (and its parents), sets its owner, group and mode, and reports
//! its `path`; `Delete` removes a temporary directory with its content and keeps a persistent
//! one. A temporary directory must be new or empty when it is created, so that deleting it can
//! never remove files Khutulun did not put there. Every directory claims its path on its host
//! first ([`DirectoryClaims`]): one instance per path, and no directory inside another
//! instance's temporary one, so deleting one instance never removes another's files.
//! Networked directories are not implemented yet and say so.

mod actor;
mod claims;
mod message;
mod ops;

pub use actor::{DirectoryConfig, DirectoryDelegate};
pub use claims::{
    ClaimError, ClaimTable, DirectoryClaim, DirectoryClaims, MemoryDirectoryClaims, canonical,
};
pub use message::DirectoryMsg;
