//! Real outputs of hasim follow the JSON Schemas in `docs/schema/`, which refuse what they
//! do not describe: a script that pins a `schema_version` can rely on them.

use crate::common::{assert_follows, schema};
use assert_cmd::Command;
use serde_json::Value;

/// What hasim writes on standard output, the run having succeeded.
fn hasim_ok(args: &[&str]) -> String {
    let out = Command::cargo_bin("hasim")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn hasim_json(args: &[&str]) -> Value {
    serde_json::from_str(&hasim_ok(args)).unwrap()
}

#[test]
fn every_kind_of_run_follows_the_run_schema() {
    for args in [
        &["run", "models/seed.toml", "-n", "300"][..],
        &["run", "models/ha.toml", "-n", "300"],
        &["run", "models/r1.toml", "-n", "300"],
        &[
            "run",
            "models/seed-uncertain.toml",
            "-n",
            "20",
            "--uncertainty",
            "10",
        ],
        &[
            "run",
            "models/rare-1of3.toml",
            "--method",
            "bfb",
            "-n",
            "20000",
        ],
        &[
            "run",
            "models/rare-1of3.toml",
            "--method",
            "splitting",
            "-n",
            "200",
        ],
        &[
            "run",
            "models/seed.toml",
            "-n",
            "300",
            "--set",
            "stages.C.replicas=2",
        ],
    ] {
        let v = hasim_json(&[args, &["--format", "json"]].concat());
        assert_eq!(v["schema_version"], 1, "{args:?}");
        assert_eq!(v["hasim_version"], env!("CARGO_PKG_VERSION"));
        assert_follows("run.schema.json", &v);
    }
}

#[test]
fn parts_their_merge_and_sweep_rows_follow_their_schemas() {
    let dir = tempfile::tempdir().unwrap();
    // A plain run in two shards, and a two-loop run in one (its part holds draws).
    let runs: [(&[&str], &str); 3] = [
        (&["models/seed.toml", "-n", "64000"], "0/2"),
        (&["models/seed.toml", "-n", "64000"], "1/2"),
        (
            &[
                "models/seed-uncertain.toml",
                "-n",
                "20",
                "--uncertainty",
                "10",
            ],
            "0/1",
        ),
    ];
    let mut parts = vec![];
    for (i, (args, shard)) in runs.iter().enumerate() {
        let part = dir.path().join(format!("p{i}.jsonl"));
        let out = format!("--out={}", part.display());
        hasim_ok(&[&["run"][..], args, &["--shard", shard, &out]].concat());
        let text = std::fs::read_to_string(&part).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["header"]["schema_version"], 3);
        assert!(lines.last().unwrap().get("end").is_some());
        assert_eq!(i == 2, lines.iter().any(|l| l.get("draw").is_some()));
        for l in &lines {
            assert_follows("part.schema.json", l);
        }
        parts.push(part.display().to_string());
    }
    for merge in [&parts[..2], &parts[2..]] {
        let args = [&["merge", "--format", "json"][..], &[&merge[0]]].concat();
        let merged = hasim_json(
            &[
                &args[..],
                &merge[1..].iter().map(String::as_str).collect::<Vec<_>>(),
            ]
            .concat(),
        );
        assert_follows("run.schema.json", &merged);
    }

    let rows: Vec<Value> = hasim_ok(&[
        "sweep",
        "models/seed.toml",
        "-n",
        "50",
        "--format",
        "json",
        "--vary",
        "stages.C.replicas=1,2",
        "--vary",
        "stages.C.restart=5s..60s:4",
    ])
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect();
    assert_eq!(rows.len(), 8);
    for r in &rows {
        assert_follows("sweep-row.schema.json", r);
    }
}

/// The schemas are not so loose that anything passes: a document missing its version, with a
/// field they do not describe, or a time that is not RFC 3339 is refused.
#[test]
fn the_schemas_refuse_what_they_do_not_describe() {
    let run = hasim_json(&["run", "models/seed.toml", "-n", "50", "--format", "json"]);
    let v = schema("run.schema.json");
    assert!(v.is_valid(&run));
    let mut unversioned = run.clone();
    unversioned
        .as_object_mut()
        .unwrap()
        .remove("schema_version");
    assert!(!v.is_valid(&unversioned));
    let mut extra = run.clone();
    extra["availabilty"] = serde_json::json!(0.5);
    assert!(!v.is_valid(&extra), "an undescribed field is refused");
    let mut nested = run.clone();
    nested["availability"]["median"] = serde_json::json!(0.5);
    assert!(!v.is_valid(&nested));
    let mut wrong = run;
    wrong["stages"]["C"]["failures"]["mean"] = serde_json::json!("12");
    assert!(!v.is_valid(&wrong));

    let probe = serde_json::json!({
        "schema_version": 1, "hasim_version": "0.1.0", "url": "http://127.0.0.1:1",
        "started": "2026-12-03T10:00:00Z", "ended": "2026-12-03T10:00:01.5Z",
        "operations": 3, "failed": 1, "duration_seconds": 1.5,
        "write_outages": [{"kind": "write", "start": 0.5, "end": 1.0, "length_seconds": 0.5,
            "start_time": "2026-12-03T10:00:00.5Z", "end_time": "2026-12-03T10:00:01Z"}],
        "read_outages": [], "write_outage_seconds": 0.5, "read_outage_seconds": 0.0,
    });
    let v = schema("probe.schema.json");
    assert!(v.is_valid(&probe), "{:?}", v.validate(&probe).err());
    let mut not_a_time = probe.clone();
    not_a_time["write_outages"][0]["start_time"] = serde_json::json!("2026-12-03 10:00:00");
    assert!(!v.is_valid(&not_a_time));
}

/// `run --format csv` is a header and one row holding the JSON's numbers, for a
/// spreadsheet or a shell script; a rare-event estimate, which has other fields, refuses it.
#[test]
fn run_as_csv_holds_the_jsons_numbers() {
    let args = ["run", "models/seed.toml", "-n", "400", "--seed", "7"];
    let json = hasim_json(&[&args[..], &["--format", "json"]].concat());
    let text = hasim_ok(&[&args[..], &["--format", "csv"]].concat());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let header: Vec<&str> = lines[0].split(',').collect();
    let row: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(header.len(), row.len());
    let cell = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(cell("model"), json["model"].as_str().unwrap());
    for (column, value) in [
        ("availability", &json["availability"]["mean"]),
        ("availability_ci_low", &json["availability"]["ci_low"]),
        ("downtime_p95_s", &json["downtime_seconds"]["p95"]),
        ("slo_p_meet", &json["slo"]["p_meet"]),
        ("lost_metrics_mean", &json["lost_metrics"]["mean"]),
        ("replications", &json["replications"]),
    ] {
        assert_eq!(
            cell(column).parse::<f64>().unwrap(),
            value.as_f64().unwrap(),
            "{column}"
        );
    }
    let bfb = Command::cargo_bin("hasim")
        .unwrap()
        .args([
            "run",
            "models/rare-1of3.toml",
            "--method",
            "bfb",
            "-n",
            "1000",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert_eq!(bfb.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bfb.stderr).contains("--format csv"));
}
