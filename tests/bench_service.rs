//! The benchmarks' generated services must be valid TOSCA, or `benches/tosca.rs` would measure
//! the processor's error paths instead of its work.

use khutulun::tosca::{Options, compile_text, validate_text};

#[path = "../benches/support/service.rs"]
mod service;

#[test]
fn the_generated_service_is_valid() {
    let text = service::service(300);
    let report = validate_text("generated.yaml", &text, &Options::default());
    assert!(report.is_valid(), "{}", report.render_text());
}

#[test]
fn the_generated_service_compiles_and_instantiates_every_template() {
    let report = compile_text(
        "generated.yaml",
        &service::service(300),
        &Options::default(),
    );
    assert!(report.is_valid(), "{}", report.render_text());
    let instances = report
        .compiled
        .expect("a compiled service")
        .instantiate()
        .unwrap_or_else(|problems| panic!("{problems:?}"));
    assert_eq!(instances.nodes.len(), 300);
    // Dependencies first: node template i requires (i - 1) / 2, which must come earlier.
    let position = |template: &str| {
        instances
            .nodes
            .iter()
            .position(|node| node.template == template)
            .unwrap_or_else(|| panic!("no instance of {template}"))
    };
    for i in 1..300 {
        assert!(position(&format!("n{}", (i - 1) / 2)) < position(&format!("n{i}")));
    }
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
