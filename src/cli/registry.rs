//! What `template` and `profile` share: registering a file, listing and delisting entries.

use std::path::Path;

use super::connect::{AgentAddress, unexpected};
use super::output::{Format, print_document, print_table};
use crate::control::ClientError;
use crate::control::protocol::{Failure, FailureKind, Request, Response};
use crate::state::RegistryKind;

fn invalid(message: String) -> ClientError {
    ClientError::Failed(Failure {
        kind: FailureKind::BadRequest,
        message,
    })
}

/// Registers the file at `file` under `name` (default: its file name without extension).
pub fn register(
    agent: &AgentAddress,
    kind: RegistryKind,
    file: &Path,
    namespace: String,
    name: Option<String>,
) -> Result<(), ClientError> {
    let path = file
        .canonicalize()
        .map_err(|e| invalid(format!("cannot read {}: {e}", file.display())))?;
    let name = match name {
        Some(name) => name,
        None => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .ok_or_else(|| invalid(format!("{} has no file name; pass --name", file.display())))?,
    };
    let response = agent.request(Request::Register {
        kind,
        path,
        namespace,
        name,
    })?;
    let Response::Registered { entry } = response else {
        return Err(invalid(unexpected(response)));
    };
    eprintln!(
        "registered {} {}/{}",
        kind.singular(),
        entry.namespace,
        entry.name
    );
    Ok(())
}

/// Lists a registry.
pub fn list(agent: &AgentAddress, kind: RegistryKind, format: Format) -> Result<(), ClientError> {
    let response = agent.request(Request::ListRegistry { kind })?;
    let Response::Registry { entries } = response else {
        return Err(invalid(unexpected(response)));
    };
    if format != Format::Table {
        return print_document(format, &entries).map_err(invalid);
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.name.clone(),
                e.namespace.clone(),
                e.registered.clone(),
                e.source.clone(),
            ]
        })
        .collect();
    print_table(&["NAME", "NAMESPACE", "REGISTERED", "SOURCE"], &rows);
    Ok(())
}

/// Removes a registry entry.
pub fn delist(
    agent: &AgentAddress,
    kind: RegistryKind,
    namespace: String,
    name: String,
) -> Result<(), ClientError> {
    let response = agent.request(Request::Delist {
        kind,
        namespace: namespace.clone(),
        name: name.clone(),
    })?;
    if !matches!(response, Response::Delisted) {
        return Err(invalid(unexpected(response)));
    }
    eprintln!("delisted {} {namespace}/{name}", kind.singular());
    Ok(())
}
