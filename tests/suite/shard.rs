//! Sharded runs merge into exactly the whole run, parts that do not form one run are
//! refused, and precision-driven runs stop at the same place whatever the threads.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn hasim() -> Command {
    Command::cargo_bin("hasim").unwrap()
}

fn model() -> String {
    format!("{}/models/r1.toml", env!("CARGO_MANIFEST_DIR"))
}

/// `hasim run` as JSON, without the timing block (which differs run to run).
fn json_without_perf(out: &[u8]) -> Value {
    let mut v: Value = serde_json::from_slice(out).unwrap();
    v.as_object_mut().unwrap().remove("perf");
    // A whole run says `auto` chose plain; a merge of (plain) parts says nothing chose.
    v.as_object_mut().unwrap().remove("estimation");
    v
}

fn shard(dir: &Path, seed: u64, i: u64, n: u64) -> PathBuf {
    shard_on("auto", dir, seed, i, n)
}

fn shard_on(engine: &str, dir: &Path, seed: u64, i: u64, n: u64) -> PathBuf {
    let path = dir.join(format!("part-{engine}-{seed}-{i}-of-{n}.json"));
    let out = hasim()
        .args(["run", &model(), "-n", "100000", "--seed", &seed.to_string()])
        .args(["--engine", engine, "--shard", &format!("{i}/{n}"), "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

fn merge(parts: &[&PathBuf]) -> std::process::Output {
    hasim()
        .arg("merge")
        .args(parts)
        .args(["--format", "json"])
        .output()
        .unwrap()
}

/// On both engines (r1's replicas are independent: `auto` takes the timeline engine).
#[test]
fn merged_shards_equal_the_whole_run_bit_for_bit() {
    for (engine, counts) in [("auto", [1, 3, 4]), ("events", [1, 2, 4])] {
        merged_shards_equal_the_whole_run_on(engine, &counts);
    }
}

fn merged_shards_equal_the_whole_run_on(engine: &str, counts: &[u64]) {
    let dir = tempfile::tempdir().unwrap();
    let whole = hasim()
        .args(["run", &model(), "-n", "100000", "--seed", "7"])
        .args(["--engine", engine, "--format", "json"])
        .output()
        .unwrap();
    assert!(whole.status.success());
    let whole = json_without_perf(&whole.stdout);
    for &n in counts {
        let parts: Vec<PathBuf> = (0..n)
            .map(|i| shard_on(engine, dir.path(), 7, i, n))
            .collect();
        // Given in any order.
        let mut refs: Vec<&PathBuf> = parts.iter().collect();
        refs.reverse();
        let out = merge(&refs);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            json_without_perf(&out.stdout),
            whole,
            "{engine}: {n} shards"
        );
    }
}

#[test]
fn parts_that_do_not_form_one_run_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a0 = shard(dir.path(), 1, 0, 3);
    let a1 = shard(dir.path(), 1, 1, 3);
    let a2 = shard(dir.path(), 1, 2, 3);
    let other_seed = shard(dir.path(), 2, 2, 3);
    let refused = |parts: &[&PathBuf], why: &str| {
        let out = merge(parts);
        assert_eq!(out.status.code(), Some(2), "{parts:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why), "{why}: {stderr}");
    };
    refused(&[&a0, &a1], "missing");
    refused(&[&a0, &a1, &a1, &a2], "twice");
    refused(&[&a0, &a1, &other_seed], "another run");
    // The same run on the other engine: other draws.
    let other_engine = shard_on("events", dir.path(), 1, 2, 3);
    refused(&[&a0, &a1, &other_engine], "another run");

    // A shard that was interrupted has no end line.
    let text = std::fs::read_to_string(&a2).unwrap();
    let cut: Vec<&str> = text.lines().collect();
    let truncated = dir.path().join("truncated.json");
    std::fs::write(&truncated, cut[..cut.len() - 1].join("\n")).unwrap();
    refused(&[&a0, &a1, &truncated], "incomplete");

    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"not\": \"a part\"}\n").unwrap();
    refused(&[&a0, &a1, &junk], "not a hasim part");
    assert!(merge(&[&a0, &a1, &a2]).status.success());
}

/// Replaces the first `from` in `part`'s line `line` (0-based) by `to`, keeping the
/// end line (and so its checksum) as it was.
fn edit_line(part: &Path, line: usize, from: &str, to: &str, into: &Path) {
    let text = std::fs::read_to_string(part).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    assert!(lines[line].contains(from), "{from} in {}", lines[line]);
    lines[line] = lines[line].replacen(from, to, 1);
    std::fs::write(into, lines.join("\n") + "\n").unwrap();
}

#[test]
fn a_part_edited_after_it_was_written_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a0 = shard(dir.path(), 1, 0, 2);
    let a1 = shard(dir.path(), 1, 1, 2);
    let edited = dir.path().join("edited.json");
    // Fewer outages in one block: a number that could be, but is not what was simulated.
    let text = std::fs::read_to_string(&a1).unwrap();
    let block: Value = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
    let outages = block["block"]["tally"]["with_outage"].as_u64().unwrap();
    edit_line(
        &a1,
        1,
        &format!("\"with_outage\":{outages}"),
        &format!("\"with_outage\":{}", outages / 2),
        &edited,
    );
    let out = merge(&[&a0, &edited]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("checksum does not match"), "{stderr}");
    assert!(merge(&[&a0, &a1]).status.success());
}

/// A part whose checksum is right (written by hand) but whose statistics no run can
/// have: each is refused, naming the statistic.
#[test]
fn impossible_statistics_in_a_part_are_refused() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let a0 = shard(dir.path(), 1, 0, 2);
    let a1 = shard(dir.path(), 1, 1, 2);
    let text = std::fs::read_to_string(&a1).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let block: Value = serde_json::from_str(lines[1]).unwrap();
    let tally = &block["block"]["tally"];
    let n = tally["unavailability"]["n"].as_u64().unwrap();
    let cases: [(&str, Value, &str); 5] = [
        ("/unavailability/m2", Value::from(-1.0), "unavailability"),
        ("/unavailability/mean", Value::from(1.5), "unavailability"),
        ("/outages/mean", Value::from(-3.0), "outages"),
        ("/with_outage", Value::from(n + 1), "with_outage"),
        ("/stale_or_down/n", Value::from(n - 1), "stale_or_down"),
    ];
    for (pointer, value, why) in cases {
        let mut b = block.clone();
        *b["block"]["tally"].pointer_mut(pointer).unwrap() = value;
        let mut body = format!("{}\n{}\n", lines[0], serde_json::to_string(&b).unwrap());
        for l in &lines[2..lines.len() - 1] {
            body += l;
            body.push('\n');
        }
        let mut end: Value = serde_json::from_str(lines[lines.len() - 1]).unwrap();
        end["end"]["sha256"] = Value::from(
            Sha256::digest(body.as_bytes())
                .iter()
                .map(|x| format!("{x:02x}"))
                .collect::<String>(),
        );
        let forged = dir.path().join("forged.json");
        std::fs::write(
            &forged,
            format!("{body}{}\n", serde_json::to_string(&end).unwrap()),
        )
        .unwrap();
        let out = merge(&[&a0, &forged]);
        assert_eq!(out.status.code(), Some(2), "{pointer}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why), "{pointer}: {stderr}");
    }
}

#[test]
fn a_shard_that_would_be_empty_is_refused_with_the_least_n() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("part.json");
    let out = hasim()
        .args(["run", &model(), "-n", "10000", "--shard", "1/3", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("give -n at least 64001"), "{stderr}");
    assert!(!path.exists());
    // The least -n it names gives every shard work.
    for i in 0..3 {
        let out = hasim()
            .args(["run", &model(), "-n", "64001", "--shard", &format!("{i}/3")])
            .arg("--out")
            .arg(dir.path().join(format!("p{i}.json")))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn precision_run(extra: &[&str]) -> Value {
    let out = hasim()
        .args(["run", &model(), "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_without_perf(&out.stdout)
}

#[test]
fn a_precision_run_stops_at_the_same_block_whatever_the_threads() {
    let one = precision_run(&["--precision", "0.002", "--threads", "1"]);
    let two = precision_run(&["--precision", "0.002", "--threads", "2"]);
    assert_eq!(one, two);
    let s = &one["stopping"];
    assert_eq!(s["reason"], "precision");
    assert_eq!(s["precision"], 0.002);
    assert!(s["relative_half_width"].as_f64().unwrap() <= 0.002);
    let n = one["replications"].as_u64().unwrap();
    assert_eq!(n % 32_000, 0, "stops at a block boundary: {n}");
    assert!(n > 32_000, "this precision takes more than one block: {n}");

    // One block earlier the interval was still too wide.
    let before = precision_run(&["-n", &(n - 32_000).to_string()]);
    assert!(before["stopping"]["relative_half_width"].as_f64().unwrap() > 0.002);
    assert_eq!(before["stopping"]["reason"], "replications");
}

#[test]
fn a_precision_out_of_reach_stops_at_the_maximum() {
    let v = precision_run(&["--precision", "1e-6", "--max-replications", "40000"]);
    assert_eq!(v["stopping"]["reason"], "max_replications");
    assert_eq!(v["replications"], 40_000);
    for bad in ["0", "-0.1", "nan"] {
        let out = hasim()
            .args(["run", &model(), "--precision", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--precision {bad}");
    }
}
