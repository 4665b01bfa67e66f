//! The deterministic simulation harness: the agent's own code over simulated time, network,
//! filesystem and delegates. It is filled by a later issue; today it holds nothing that
//! pretends to simulate.
