//! The actor runtime: the root supervisor, the host actor the CLI talks to, the lock manager
//! that alone writes the shared store, service and node-instance actors, and delegate actors.
