//! TOSCA 2.0: load → parse (with spans) → types → validate → topology → instances.
//!
//! Every stage reads spanned [`value::Value`]s and records what is wrong in
//! [`problem::Problems`], so one run reports every mistake with its file:line:column.
//!
//! The facade below ([`validate`], [`compile`], [`validate_text`]) is what the rest of
//! Khutulun (the CLI, the runtime, the conformance tests) calls.

pub mod data;
pub mod functions;
pub mod grammar;
pub mod instance;
pub mod limits;
pub mod loader;
mod parallel;
pub mod problem;
pub mod source;
pub mod template;
pub mod topology;
pub mod types;
pub mod value;
pub mod yaml;

use std::path::PathBuf;

use indexmap::IndexMap;

use problem::Problems;
use source::Sources;
use template::ServiceTemplate;

/// What a run needs besides the entry file.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Directories searched for profiles imported by name (`imports: - profile: NAME`).
    pub profile_paths: Vec<PathBuf>,
    /// Input values, by input name (used by [`compile`]).
    pub inputs: IndexMap<String, serde_json::Value>,
    /// Further service templates that may substitute nodes with the `substitute` directive
    /// (besides a CSAR's `Other-Definitions`).
    pub substitutions: Vec<PathBuf>,
    /// The nodes of other services that `select` directives may pick (used by [`compile`],
    /// which selects before fulfilling requirements, so fulfilment sees the chosen nodes).
    pub inventory: instance::Inventory,
    /// The budgets the run keeps to (file size, YAML nodes, `count`, instances).
    pub limits: limits::Limits,
    /// Instance counts that replace what node templates' `count` says, by template name (an
    /// orchestrator's policies decide them; used by [`compile`]).
    pub counts: IndexMap<String, u32>,
}

/// The outcome of a run: every file read, every problem found, and what was built.
#[derive(Debug)]
pub struct Report {
    /// The files read, for locating problems.
    pub sources: Sources,
    /// Every problem, sorted by position.
    pub problems: Problems,
    /// The compiled service, when the input could be read far enough.
    pub compiled: Option<Compiled>,
}

impl Report {
    /// Whether no problem was found.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }

    /// The problems for people: location, message, element path and the source line.
    pub fn render_text(&self) -> String {
        self.problems.render_text(&self.sources)
    }

    /// The problems as JSON: `{valid, problems: [...]}`.
    pub fn render_json(&self) -> serde_json::Value {
        serde_json::json!({
            "valid": self.is_valid(),
            "problems": self.problems.render_json(&self.sources),
        })
    }
}

/// A service template read and checked (and, after [`compile`], with inputs applied,
/// requirements fulfilled and the topology built).
#[derive(Debug)]
pub struct Compiled {
    /// The service template as written.
    pub service: ServiceTemplate,
    /// Every type the service can use.
    pub registry: types::TypeRegistry,
    /// The node templates with their types and complete values (after [`compile`], a
    /// template that selected a node holds that node's values).
    pub resolved: template::Resolved,
    /// The topology (after [`compile`] only).
    pub topology: Option<topology::Topology>,
    /// The service templates that may substitute nodes with the `substitute` directive.
    pub substitutes: Vec<instance::substitute::Candidate>,
    /// The nodes of other services that `select` directives pick from.
    pub inventory: instance::Inventory,
    /// The budgets instantiation keeps to.
    pub limits: limits::Limits,
}

impl Compiled {
    /// Instantiates the topology: node instances per `count`, relationship instances,
    /// values evaluated, `select` and `substitute` directives realised. Needs [`compile`] (a
    /// topology); `select` picks from the inventory given in [`Options::inventory`].
    pub fn instantiate(&self) -> Result<instance::Instantiation, Problems> {
        match &self.topology {
            Some(t) => instance::directives::Realiser {
                registry: &self.registry,
                candidates: &self.substitutes,
                inventory: &self.inventory,
                limits: &self.limits,
            }
            .instantiate(&self.resolved, t),
            None => {
                let mut problems = Problems::new();
                problems.report(
                    "not-compiled",
                    source::Span::NONE,
                    "",
                    "instantiation needs a compiled topology: use tosca::compile",
                );
                Err(problems)
            }
        }
    }

    /// Whether any node template, here or in a substituting template, has a `select`
    /// directive: only then does the inventory matter, so a caller whose inventory is costly
    /// to gather (the runtime reads every deployed service) can skip it.
    pub fn uses_select(&self) -> bool {
        std::iter::once(&self.service)
            .chain(self.substitutes.iter().map(|c| &c.service))
            .flat_map(|s| s.node_templates.values())
            .any(|node| node.directives.iter().any(|d| d == "select"))
    }

    /// The topology as JSON: inputs, node templates (types, counts, values, fulfilled
    /// requirements) and outputs.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.topology {
            Some(t) => topology::output::to_json(t, &self.resolved, &self.registry),
            None => serde_json::Value::Null,
        }
    }

    /// The topology as YAML.
    pub fn to_yaml(&self) -> String {
        serde_yaml_ng::to_string(&self.to_json()).unwrap_or_default()
    }

    /// The topology as a Graphviz DOT graph.
    pub fn to_dot(&self) -> String {
        match &self.topology {
            Some(t) => topology::output::to_dot(t, &self.resolved, &self.registry),
            None => String::new(),
        }
    }
}

/// Reads and checks a service template (file, URL or CSAR); input values are not needed.
pub fn validate(entry: &str, options: &Options) -> Report {
    run(options, false, |sources, problems| {
        loader::load(entry, &load_options(options), sources, problems)
    })
}

/// Like [`validate`], plus inputs, `select` from [`Options::inventory`], requirement
/// fulfilment and the topology.
pub fn compile(entry: &str, options: &Options) -> Report {
    run(options, true, |sources, problems| {
        loader::load(entry, &load_options(options), sources, problems)
    })
}

/// Like [`compile`], for a service template given as text.
pub fn compile_text(name: &str, text: &str, options: &Options) -> Report {
    run(options, true, |sources, problems| {
        loader::load_text(name, text, &load_options(options), sources, problems)
    })
}

/// Reads and checks a service template given as text (tests, fuzzing, benches); relative
/// imports resolve against `name`'s directory.
pub fn validate_text(name: &str, text: &str, options: &Options) -> Report {
    run(options, false, |sources, problems| {
        loader::load_text(name, text, &load_options(options), sources, problems)
    })
}

fn load_options(options: &Options) -> loader::LoadOptions {
    loader::LoadOptions {
        profile_paths: options.profile_paths.clone(),
        substitutions: options.substitutions.clone(),
        limits: options.limits,
        ..loader::LoadOptions::default()
    }
}

/// Loads with `load`, then runs every later stage on what was loaded; with `compile`, also
/// applies inputs, fulfils requirements and builds the topology.
fn run(
    options: &Options,
    compile: bool,
    load: impl FnOnce(&Sources, &mut Problems) -> Option<loader::Loaded>,
) -> Report {
    let sources = Sources::default();
    let mut problems = Problems::new();
    let compiled = load(&sources, &mut problems).and_then(|mut loaded| {
        for file in &loaded.files {
            grammar::check_file(&file.root, &mut problems);
        }
        let files: Vec<types::FileInput<'_>> = loaded
            .files
            .iter()
            .map(|f| types::FileInput {
                id: f.id,
                root: &f.root,
                profile: f.profile.clone(),
                imports: f
                    .imports
                    .iter()
                    .map(|i| types::ImportInput {
                        file: i.file,
                        namespace: i.namespace.clone(),
                        span: i.span,
                    })
                    .collect(),
            })
            .collect();
        let registry = types::build(&files, &mut problems);
        drop(files);
        let entry = loaded.entry;
        let st = loaded.take_service_template()?;
        let service =
            template::parse::service_template(st, entry, "service_template", &mut problems);
        let places = template::artifact::Places::of(&loaded);
        let mut checked =
            template::check::check(&service, &registry, &places, &options.limits, &mut problems);
        for node in &mut checked.nodes {
            if let Some(&count) = options.counts.get(&node.name) {
                node.count = Some(value::Value::from_json(&serde_json::json!(count)));
            }
        }
        let substitutes =
            instance::substitute::candidates(&loaded, &registry, &options.limits, &mut problems);
        let (resolved, topology) = if compile {
            let given = options
                .inputs
                .iter()
                .map(|(k, v)| (k.clone(), value::Value::from_json(v)))
                .collect();
            let (fulfilled, topology) = instance::select::build_topology(
                &service,
                &checked,
                &registry,
                &given,
                &options.inventory,
                &substitutes,
                &options.limits,
                &mut problems,
            );
            // Unchanged unless `select` picked nodes: then keep `checked` itself rather than
            // copying every node template's values (a tenth of a large compile).
            let resolved = match fulfilled {
                std::borrow::Cow::Owned(changed) => changed,
                std::borrow::Cow::Borrowed(_) => checked,
            };
            (resolved, Some(topology))
        } else {
            (checked, None)
        };
        Some(Compiled {
            service,
            registry,
            resolved,
            topology,
            substitutes,
            inventory: options.inventory.clone(),
            limits: options.limits,
        })
    });
    problems.sort();
    Report {
        sources,
        problems,
        compiled,
    }
}
