//! The man pages in `docs/man/` are the command line's own (clap_mangen from the same
//! definitions as `--help`, examples set as typed): a flag added or changed without
//! regenerating them fails here. Regenerate with
//! `HASIM_UPDATE_MAN=1 cargo test --test suite man::`.

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
        let made = std::fs::read_to_string(dir.path().join(name)).unwrap();
        let made = examples_as_typed(&made).into_bytes();
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
        page.contains(".nf\n  hasim run models/seed.toml"),
        "the examples are in the page, unfilled"
    );
}

/// The page with its indented lines (the examples of `--help`'s closing text) set
/// without filling (`.nf` … `.fi`): man would otherwise run them together and justify
/// them into one paragraph, which cannot be copied back to a shell.
fn examples_as_typed(roff: &str) -> String {
    let mut out = String::with_capacity(roff.len() + 64);
    let mut unfilled = false;
    for line in roff.lines() {
        let indented = line.starts_with("  ");
        if indented != unfilled {
            out.push_str(if indented { ".nf\n" } else { ".fi\n" });
            unfilled = indented;
        }
        out.push_str(line);
        out.push('\n');
    }
    if unfilled {
        out.push_str(".fi\n");
    }
    out
}

#[test]
fn indented_lines_are_set_unfilled_and_the_rest_as_before() {
    assert_eq!(
        examples_as_typed(".SH EXTRA\nExamples:\n  hasim a\n  hasim b\n\nText.\n.SH V\n"),
        ".SH EXTRA\nExamples:\n.nf\n  hasim a\n  hasim b\n.fi\n\nText.\n.SH V\n"
    );
    assert_eq!(examples_as_typed("a\n  b\n"), "a\n.nf\n  b\n.fi\n");
    assert_eq!(examples_as_typed(".TH x\nplain\n"), ".TH x\nplain\n");
}
