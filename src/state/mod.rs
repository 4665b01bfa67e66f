//! The shared store: a directory every host mounts, written only under an exclusive lock and
//! only by atomic rename.
