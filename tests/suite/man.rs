//! The man pages in `docs/man/` are the command line's own (clap_mangen from the same
//! definitions as `--help`): a flag added or changed without regenerating them fails here.
//! Regenerate with `HASIM_UPDATE_MAN=1 cargo test --test suite man::`.

#![cfg(feature = "k8s")]

use std::path::Path;

use clap::CommandFactory;

#[test]
fn the_man_pages_are_the_command_lines_own() {
    let dir = tempfile::tempdir().unwrap();
    clap_mangen::generate_to(hasim::cli::Cli::command(), dir.path()).unwrap();
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/man");
    let update = std::env::var_os("HASIM_UPDATE_MAN").is_some();
    if update {
        std::fs::create_dir_all(&committed).unwrap();
    }
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.contains(&"hasim.1".to_string()) && names.contains(&"hasim-run.1".to_string()));
    let mut stale = vec![];
    for name in &names {
        let made = std::fs::read(dir.path().join(name)).unwrap();
        let path = committed.join(name);
        if update {
            std::fs::write(&path, &made).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&made[..]) {
            stale.push(name.clone());
        }
    }
    // No page for a command that is gone.
    let extra: Vec<String> = std::fs::read_dir(&committed)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".1") && !names.contains(n))
        .collect();
    assert!(
        stale.is_empty() && extra.is_empty(),
        "docs/man is out of date ({stale:?} differ, {extra:?} are for no command): run HASIM_UPDATE_MAN=1 cargo test --test suite man::"
    );
    let page = std::fs::read_to_string(committed.join("hasim-run.1")).unwrap();
    assert!(
        page.contains("hasim run models/seed.toml"),
        "the examples are in the page"
    );
}
