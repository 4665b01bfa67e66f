//! Delegates make node instances real: one module per resource kind, each behind a typed
//! message protocol.
