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
