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

/// `hasim ARGS` on `text` (as m.toml in a fresh folder) is refused with exit 2 naming
/// every one of `words`.
fn run_refused(text: &str, args: &[&str], words: &[&str]) {
    let d = Dir::new();
    let model = d.file("m.toml", text);
    let o = hasim().args(args).arg(&model).output().unwrap();
    refused(&o, words);
}

#[test]
fn every_size_a_user_can_type_has_a_named_limit() {
    let with = |from: &str, to: &str| {
        assert!(MODEL.contains(from));
        MODEL.replace(from, to)
    };
    run_refused(
        &with("replicas = 1", "replicas = 1001"),
        &["check"],
        &["m.toml:10:", "stages.C.replicas", "at most 1000 replicas"],
    );
    run_refused(
        &with("horizon = \"30d\"", "horizon = \"1001y\""),
        &["check"],
        &["m.toml:4:", "simulation.horizon", "at most 1000 years"],
    );
    run_refused(
        &with("replications = 20", "replications = 10000000000000"),
        &["check"],
        &["m.toml:5:", "simulation.replications", "at most 1e12"],
    );
    // Integer keys that do not fit are refused, not wrapped.
    let deployment = with("kind = \"statefulset\"", "kind = \"deployment\"")
        + "maintenance = { every = \"7d\", max_surge = 4294967297 }\n";
    run_refused(
        &deployment,
        &["check"],
        &["stages.C.maintenance.max_surge", "too large"],
    );
    let mut nodes = String::new();
    for i in 0..1001 {
        nodes += &format!("[[nodes]]\nname = \"n{i}\"\n");
    }
    run_refused(
        &(MODEL.to_string() + &nodes),
        &["check"],
        &["nodes", "at most 1000 nodes"],
    );
    run_refused(
        MODEL,
        &["run", "-n", "10000000000000"],
        &["--replications", "at most 1e12"],
    );
    run_refused(
        MODEL,
        &[
            "run",
            "--precision",
            "0.1",
            "--max-replications",
            "10000000000000",
        ],
        &["--max-replications", "at most 1e12"],
    );
    run_refused(
        MODEL,
        &["run", "--threads", "100000"],
        &["--threads", "four per core"],
    );
    run_refused(
        MODEL,
        &["run", "--method", "splitting", "--factors", "10001"],
        &["--factors 10001", "from 1 to 10000"],
    );
    run_refused(
        MODEL,
        &["check", "--set", "stages.C.a.b.c.d.e.f.g=1"],
        &["--set stages.C.a.b.c.d.e.f.g", "at most 8 segments"],
    );
}

#[test]
fn a_run_of_a_trillion_replications_starts_without_allocating_for_them() {
    // The chunk list is computed as it goes: the run starts at once, and Ctrl-C is not
    // needed to find out; a precision that is met in the first block ends it.
    let d = Dir::new();
    let model = d.file("m.toml", MODEL);
    let o = hasim()
        .arg("run")
        .arg(&model)
        .args(["--precision", "0.5", "--max-replications", "1000000000000"])
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["stopping"]["reason"], "precision");
}

#[test]
fn a_time_near_zero_is_refused_before_the_run() {
    let tiny = MODEL.replace(
        "failure = { dist = \"exponential\", mean = \"5d\" }",
        "failure = { dist = \"exponential\", mean = 1e-300 }",
    );
    run_refused(
        &tiny.replace("restart = \"1h\"", "restart = \"0s\""),
        &["run"],
        &["m.toml:11:", "stages.C.failure", "events per history"],
    );
    // A node failing every millisecond, an upgrade wave every second.
    let nodes = "[[nodes]]\nname = \"n1\"\nevery = \"1ms\"\nrecovery = \"1s\"\n";
    let on_node = MODEL.replace("replicas = 1\n", "replicas = 1\nnodes = [\"n1\"]\n");
    run_refused(
        &format!("{on_node}{nodes}"),
        &["check"],
        &["nodes.0.every", "events per history"],
    );
}

/// A fault that persists through restarts of zero time with no back-off: validation
/// cannot see it coming (the means are fine), the event budget stops it, on both engines.
#[test]
fn a_zero_time_loop_is_stopped_by_the_event_budget_on_both_engines() {
    let looping = MODEL
        .replace(
            "failure = { dist = \"exponential\", mean = \"5d\" }",
            "backoff = false\n[[stages.C.failures]]\nname = \"bad-disk\"\nevery = \"10d\"\npersists = \"1d\"",
        )
        .replace("restart = \"1h\"\n", "");
    let looping = looping.replace("replicas = 1\n", "replicas = 1\nrestart = \"0s\"\n");
    let d = Dir::new();
    let model = d.file("m.toml", &looping);
    let out = d.file("result.json", "my earlier result\n");
    for engine in ["auto", "events"] {
        let o = hasim()
            .arg("run")
            .arg(&model)
            .args(["--engine", engine, "--out"])
            .arg(&out)
            .output()
            .unwrap();
        refused(&o, &["more than 100000000 events", "replication 0"]);
        // The run failed before its first result: the old file is as it was.
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "my earlier result\n"
        );
    }
    // Splitting needs redundancy on the read path: two replicas, one needed.
    let d2 = Dir::new();
    let redundant = d2.file(
        "m.toml",
        &looping.replacen("replicas = 1\n", "replicas = 2\nmin_ready = 1\n", 1),
    );
    let o = hasim()
        .args([
            "run",
            "--method",
            "splitting",
            "-n",
            "2",
            "--factors",
            "1,1",
        ])
        .arg(&redundant)
        .output()
        .unwrap();
    refused(&o, &["more than 100000000 events"]);
    assert_eq!(d.names(), ["m.toml", "result.json"]);
}

#[test]
fn a_set_or_vary_naming_a_missing_stage_is_refused_with_a_suggestion() {
    run_refused(
        MODEL,
        &["check", "--set", "stages.c.replicas=2"],
        &[
            "--set stages.c.replicas",
            "no stage \"c\"",
            "did you mean `C`?",
        ],
    );
    run_refused(
        MODEL,
        &["sweep", "--vary", "stages.c.replicas=1,2"],
        &["no stage \"c\"", "did you mean `C`?"],
    );
    run_refused(
        MODEL,
        &[
            "sweep",
            "--vary",
            "stages.C.replicas=1,2",
            "--vary",
            "stages.C.replicas=3",
        ],
        &["stages.C.replicas", "given twice"],
    );
    // An unknown key in the file names the key it may have meant.
    run_refused(
        &MODEL.replace("replicas = 1", "replica = 1"),
        &["check"],
        &[
            "m.toml:10:",
            "stages.C.replica",
            "unknown key (did you mean `replicas`?)",
        ],
    );
    // A list of named tables is indexed: the message lists the indices.
    let nodes = "[[nodes]]\nname = \"n1\"\n";
    let on_node = MODEL.replace("replicas = 1\n", "replicas = 1\nnodes = [\"n1\"]\n");
    run_refused(
        &format!("{on_node}{nodes}"),
        &["check", "--set", "nodes.n1.every=30d"],
        &["expected an array index", "0 = n1"],
    );
}
