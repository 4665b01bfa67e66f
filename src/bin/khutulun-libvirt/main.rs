//! `khutulun-libvirt`: the libvirt delegate's helper. The agent runs it once per call with one
//! [`Call`] as JSON on standard input; it does the call through the libvirt library and writes
//! `Result<T, Refusal>` as JSON to standard output, its log lines to standard error. It is the
//! only Khutulun program that links libvirt (see `khutulun::delegates::libvirt::helper`).

mod lifecycle;

use std::io::{Read, Write};
use std::process::ExitCode;

use khutulun::delegates::libvirt::DomainPlan;
use khutulun::delegates::libvirt::helper::{Call, Refusal, Request};
use khutulun::delegates::protocol::DelegateError;
use serde::Serialize;

use lifecycle::Hypervisor;

fn main() -> ExitCode {
    khutulun::cli::logging::log_to_stderr();
    let mut input = Vec::new();
    let call = std::io::stdin()
        .read_to_end(&mut input)
        .map_err(|e| e.to_string())
        .and_then(|_| serde_json::from_slice::<Call>(&input).map_err(|e| e.to_string()));
    let call = match call {
        Ok(call) => call,
        Err(e) => {
            eprintln!(
                "khutulun-libvirt: expected one call as JSON on standard input (the agent runs this program): {e}"
            );
            return ExitCode::from(2);
        }
    };
    let hypervisor = Hypervisor {
        uri: call.uri,
        accelerator: call.accelerator,
    };
    match call.request {
        Request::Check => answer(hypervisor.check()),
        Request::Create(spec) => {
            answer(DomainPlan::of(&spec).and_then(|p| lifecycle::create(&hypervisor, &p)))
        }
        Request::Start(spec) => {
            answer(DomainPlan::of(&spec).and_then(|p| lifecycle::start(&hypervisor, &p)))
        }
        Request::Observe {
            spec,
            adopt,
            recorded,
        } => answer(
            DomainPlan::of(&spec)
                .and_then(|p| lifecycle::observe(&hypervisor, &p, adopt, &recorded)),
        ),
        Request::Stop(spec) => {
            answer(DomainPlan::of(&spec).and_then(|p| lifecycle::stop(&hypervisor, &p)))
        }
        Request::Delete(spec) => {
            answer(DomainPlan::of(&spec).and_then(|p| lifecycle::delete(&hypervisor, &p)))
        }
    }
}

/// Writes the outcome for the agent.
fn answer<T: Serialize>(outcome: Result<T, DelegateError>) -> ExitCode {
    let outcome = outcome.map_err(Refusal::from);
    let written = serde_json::to_vec(&outcome)
        .map_err(std::io::Error::other)
        .and_then(|text| std::io::stdout().write_all(&text));
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("khutulun-libvirt: could not write the answer: {e}");
            ExitCode::FAILURE
        }
    }
}
