//! The benchmarks' generated services must be valid TOSCA, or `benches/tosca.rs` would measure
//! the processor's error paths instead of its work.

use khutulun::tosca::{Options, validate_text};

#[path = "../benches/support/service.rs"]
mod service;

#[test]
fn the_generated_service_is_valid() {
    let text = service::service(300);
    let report = validate_text("generated.yaml", &text, &Options::default());
    assert!(report.is_valid(), "{}", report.render_text());
}

#[test]
fn the_generated_service_has_the_requested_node_templates() {
    let text = service::service(300);
    let value = khutulun::tosca::yaml::parse(&text, khutulun::tosca::source::FileId(0)).unwrap();
    let templates = value
        .get("service_template")
        .and_then(|st| st.get("node_templates"))
        .and_then(|nt| nt.as_map())
        .expect("node_templates is a map");
    assert_eq!(templates.len(), 300);
}
