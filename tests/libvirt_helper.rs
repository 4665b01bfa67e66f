//! The libvirt delegate's helper, `khutulun-libvirt`, as the agent runs it: one call as JSON
//! on standard input, the outcome as JSON on standard output. And the reason it exists: only
//! it links libvirt, so `khutulun` starts without loading libvirt's fifty libraries (and runs
//! on a host without them). The virtual machines themselves are deployed in tests/e2e_vm.rs.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const KHUTULUN: &str = env!("CARGO_BIN_EXE_khutulun");
const HELPER: &str = env!("CARGO_BIN_EXE_khutulun-libvirt");

/// The shared libraries `binary` needs, as `ldd` lists them.
fn linked(binary: &str) -> String {
    let output = Command::new("ldd").arg(binary).output().expect("ldd runs");
    assert!(output.status.success(), "ldd {binary} failed");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs the helper with `input` on its standard input.
fn helper(input: &str) -> Output {
    let mut child = Command::new(HELPER)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the helper starts");
    child
        .stdin
        .take()
        .expect("its standard input")
        .write_all(input.as_bytes())
        .expect("the call is written");
    child.wait_with_output().expect("the helper ends")
}

#[test]
fn only_the_helper_links_libvirt() {
    let khutulun = linked(KHUTULUN);
    assert!(
        !khutulun.contains("libvirt"),
        "khutulun links libvirt:\n{khutulun}"
    );
    let helper = linked(HELPER);
    assert!(
        helper.contains("libvirt.so"),
        "the helper does not link libvirt:\n{helper}"
    );
}

#[test]
fn the_helper_answers_that_libvirt_is_unavailable_where_nothing_listens() {
    let socket = tempfile::tempdir().expect("a directory");
    let uri = format!(
        "qemu+unix:///system?socket={}/absent-sock",
        socket.path().display()
    );
    let call = format!(r#"{{"uri":"{uri}","accelerator":"tcg","request":"check"}}"#);
    let output = helper(&call);
    assert!(output.status.success(), "{output:?}");
    let answer: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the answer is JSON");
    let message = answer["Err"]["unavailable"]
        .as_str()
        .unwrap_or_else(|| panic!("not an unavailable refusal: {answer}"));
    assert!(
        message.contains(&uri) && message.contains("libvirtd"),
        "the reason names neither the URI nor how to start libvirt: {message}"
    );
}

#[test]
fn the_helper_refuses_what_is_not_a_call() {
    let output = helper("deploy everything");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(output.stdout.is_empty(), "it answered: {output:?}");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("expected one call as JSON on standard input"),
        "{said}"
    );
}
