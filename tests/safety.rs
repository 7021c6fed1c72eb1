//! Nothing a user owns is lost and nothing hangs: outputs that would overwrite an input
//! are refused, results replace files only when complete, devices are written in place,
//! inputs are bounded, and every size a user can type has a named limit.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

fn hasim() -> Command {
    Command::cargo_bin("hasim").unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `out` ended with exit 2 and a message holding every one of `words`.
fn refused(out: &Output, words: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for w in words {
        assert!(err.contains(w), "expected {w:?} in: {err}");
    }
}

const MODEL: &str = r#"# my model: keep this comment
name = "mine"
[simulation]
horizon = "30d"
replications = 20
[system]
read_path = ["C"]
[stages.C]
kind = "statefulset"
replicas = 1
failure = { dist = "exponential", mean = "5d" }
restart = "1h"
"#;

struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Self {
        Dir {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// The names in the folder, sorted: nothing left behind.
    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

/// The same file by every kind of other path: `./`, `..`, a symlink.
fn aliases(d: &Dir, file: &Path) -> Vec<PathBuf> {
    let name = file.file_name().unwrap();
    std::fs::create_dir_all(d.path("sub")).unwrap();
    let link = d.path("link.toml");
    let _ = std::os::unix::fs::symlink(file, &link);
    vec![
        file.to_path_buf(),
        d.dir.path().join(".").join(name),
        d.path("sub").join("..").join(name),
        link,
    ]
}

#[test]
fn an_out_that_names_the_model_is_refused_by_any_path() {
    let d = Dir::new();
    let model = d.file("m.toml", MODEL);
    for out in aliases(&d, &model) {
        for cmd in [
            vec!["run"],
            vec!["trace"],
            vec!["sweep", "--vary", "stages.C.replicas=1,2"],
            vec!["run", "--shard", "0/1"],
        ] {
            let o = hasim()
                .args(&cmd)
                .arg(&model)
                .arg("--out")
                .arg(&out)
                .output()
                .unwrap();
            refused(&o, &["--out", "input"]);
            assert_eq!(std::fs::read_to_string(&model).unwrap(), MODEL, "{cmd:?}");
        }
    }
    // In the current directory, as `./m.toml` against `m.toml`.
    let o = hasim()
        .current_dir(d.dir.path())
        .args(["run", "m.toml", "--out", "./m.toml"])
        .output()
        .unwrap();
    refused(&o, &["input"]);
    assert_eq!(std::fs::read_to_string(&model).unwrap(), MODEL);
}

#[test]
fn an_out_that_names_a_file_the_model_reads_is_refused() {
    let d = Dir::new();
    let samples = d.file("restarts.csv", "seconds\n3\n4\n5\n");
    let model = d.file(
        "m.toml",
        &MODEL.replace(
            "restart = \"1h\"",
            "restart = { dist = \"empirical\", file = \"restarts.csv\" }",
        ),
    );
    let o = hasim()
        .args(["run"])
        .arg(&model)
        .arg("--out")
        .arg(&samples)
        .output()
        .unwrap();
    refused(&o, &["input"]);
    assert_eq!(
        std::fs::read_to_string(&samples).unwrap(),
        "seconds\n3\n4\n5\n"
    );
}

#[test]
fn merge_refuses_an_out_that_is_one_of_its_parts() {
    let d = Dir::new();
    let model = d.file("m.toml", MODEL);
    let part = d.path("part.json");
    let o = hasim()
        .args(["run", "--shard", "0/1", "--out"])
        .arg(&part)
        .arg(&model)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let before = std::fs::read(&part).unwrap();
    let o = hasim()
        .arg("merge")
        .arg(&part)
        .arg("--out")
        .arg(&part)
        .output()
        .unwrap();
    refused(&o, &["input"]);
    assert_eq!(std::fs::read(&part).unwrap(), before);
}

#[test]
fn fit_refuses_an_out_or_plot_onto_its_samples_or_a_model() {
    let d = Dir::new();
    let text = "1.0\n1.5\n2.0\n2.5\n3.0\n";
    let samples = d.file("s.csv", text);
    let model = d.file("m.toml", MODEL);
    for flag in ["--out", "--plot"] {
        let o = hasim()
            .arg("fit")
            .arg(&samples)
            .args(["--name", "x", flag])
            .arg(&samples)
            .output()
            .unwrap();
        refused(&o, &[flag, "input"]);
        assert_eq!(std::fs::read_to_string(&samples).unwrap(), text);
    }
    let o = hasim()
        .arg("fit")
        .arg(&samples)
        .args(["--name", "x", "--out"])
        .arg(&model)
        .output()
        .unwrap();
    refused(&o, &["not a calibration file"]);
    assert_eq!(std::fs::read_to_string(&model).unwrap(), MODEL);
}

#[test]
fn fit_into_a_calibration_file_keeps_what_it_does_not_own() {
    let d = Dir::new();
    let samples = d.file("s.csv", "1.0\n1.5\n2.0\n2.5\n3.0\n");
    let mine = "# measured on the lab cluster, 2026-11\n[distributions.old]\nsamples = [1.0, 2.0] # by hand\nfit = { dist = \"exponential\", mean = 1.5 }\n";
    let cal = d.file("cal.toml", mine);
    let o = hasim()
        .arg("fit")
        .arg(&samples)
        .args(["--name", "new", "--out"])
        .arg(&cal)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&cal).unwrap();
    assert!(text.starts_with(mine), "{text}");
    assert!(text.contains("[distributions.new]"), "{text}");
}

#[test]
fn a_run_that_fails_leaves_an_existing_out_as_it_was() {
    let d = Dir::new();
    let model = d.file("m.toml", MODEL);
    let out = d.file("result.json", "my earlier result\n");
    // A refused model.
    let o = hasim()
        .arg("run")
        .arg(&model)
        .args(["--set", "stages.C.replicas=0", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "my earlier result\n"
    );
    // A successful run replaces it, and leaves no temporary file behind.
    let o = hasim()
        .arg("run")
        .arg(&model)
        .args(["--format", "json", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&out).unwrap().starts_with('{'));
    assert_eq!(d.names(), ["m.toml", "result.json"]);
}

#[test]
fn an_out_in_a_missing_folder_fails_before_the_run() {
    let d = Dir::new();
    let model = d.file("m.toml", MODEL);
    let o = hasim()
        .arg("run")
        .arg(&model)
        .arg("--out")
        .arg(d.path("no/such/dir/r.json"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot create"), "{}", stderr(&o));
}

#[test]
fn devices_are_written_in_place_never_replaced() {
    let d = Dir::new();
    let model = d.file("m.toml", MODEL);
    for dev in ["/dev/null", "/dev/stdout"] {
        let o = hasim()
            .arg("run")
            .arg(&model)
            .args(["--format", "json", "--out", dev])
            .output()
            .unwrap();
        assert!(o.status.success(), "{dev}: {}", stderr(&o));
        let meta = std::fs::metadata("/dev/null").unwrap();
        assert!(!meta.is_file(), "/dev/null is still a device");
        if dev == "/dev/stdout" {
            assert!(o.stdout.starts_with(b"{"), "written to the pipe");
        }
    }
    // A FIFO: read by another thread while hasim writes into it.
    let fifo = d.path("fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let o = hasim()
        .arg("trace")
        .arg(&model)
        .arg("--out")
        .arg(&fifo)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(reader.join().unwrap().starts_with("time_seconds,"));
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
}

#[test]
fn a_report_folder_holding_a_report_needs_force() {
    let d = Dir::new();
    let model = d.file("m.toml", MODEL);
    let dir = d.path("report");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<p>my last report</p>").unwrap();
    let o = hasim()
        .arg("report")
        .arg(&model)
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    refused(&o, &["already holds a report", "--force"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("index.html")).unwrap(),
        "<p>my last report</p>"
    );
}

#[test]
fn a_model_that_is_not_a_regular_file_or_too_big_or_not_utf8_is_refused() {
    let d = Dir::new();
    for (path, why) in [
        (PathBuf::from("/dev/zero"), "not a regular file"),
        (d.dir.path().to_path_buf(), "not a regular file"),
    ] {
        let o = hasim().arg("check").arg(&path).output().unwrap();
        refused(&o, &[why]);
    }
    let big = d.path("big.toml");
    std::fs::write(&big, vec![b'#'; (16 << 20) + 1]).unwrap();
    refused(
        &hasim().arg("check").arg(&big).output().unwrap(),
        &["larger than 16 MiB"],
    );
    let latin1 = d.path("latin1.toml");
    let mut bytes = MODEL.as_bytes().to_vec();
    let at = MODEL.find("mine").unwrap();
    bytes[at] = 0xe9; // "é" in Latin-1
    std::fs::write(&latin1, bytes).unwrap();
    let o = hasim().arg("check").arg(&latin1).output().unwrap();
    refused(&o, &[&format!("{}:2:9: not UTF-8", latin1.display())]);
}

#[test]
fn a_calibration_file_that_refers_to_itself_is_a_cycle() {
    let d = Dir::new();
    d.file(
        "a.toml",
        "[distributions.x]\nfit = { calibration = \"b.toml\", name = \"y\" }\n",
    );
    d.file(
        "b.toml",
        "[distributions.y]\nfit = { calibration = \"a.toml\", name = \"x\" }\n",
    );
    d.file(
        "self.toml",
        "[distributions.x]\nfit = { calibration = \"self.toml\", name = \"x\" }\n",
    );
    for file in ["a.toml", "self.toml"] {
        let model = d.file(
            "m.toml",
            &MODEL.replace(
                "restart = \"1h\"",
                &format!("restart = {{ calibration = \"{file}\", name = \"x\" }}"),
            ),
        );
        let o = hasim().arg("check").arg(&model).output().unwrap();
        refused(&o, &["cycle"]);
    }
}
