//! The integration tests that need no server of their own, in one binary: one link of the
//! dependency tree instead of one per file (see the README's "Tests"). Each module is one
//! subject; `cargo test --test suite report::` runs one of them.

#[path = "../common/mod.rs"]
mod common;

mod advise;
mod cli;
mod history;
mod import;
mod k8s;
mod k8s_cli;
mod man;
mod manifests;
mod mutants;
mod rare;
mod report;
mod safety;
mod schema;
mod semantics;
mod shard;
mod simulation;
mod uncertainty;

/// A model from TOML text written by a test (named `test.toml`, sample files relative to
/// the working directory). A test's own model that does not load is a bug of the test:
/// it panics with the error and the text.
fn model(text: &str) -> hasim::model::Model {
    hasim::model::Model::from_str("test.toml", text, std::path::Path::new("."), &[])
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
}
