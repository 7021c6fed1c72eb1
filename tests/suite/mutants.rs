//! Damaged models as a careless or hostile user writes them: thousands of mutants of
//! every bundled model (fixed seed), each run by the real binary under a memory cap and a
//! time limit. Every one must end with exit 0 or 2 — never a panic (101), an abort (134),
//! a signal, a hang or an allocation past the cap — and every exit 2 must name the file
//! and line it refuses.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Mutants per bundled model.
const PER_MODEL: usize = 1000;
/// The most a mutant's run may take, and the address space it may use.
const TIME_LIMIT: Duration = Duration::from_secs(30);
const MEMORY_KB: u64 = 4 << 20;

const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "2",
    "0.5",
    "1e308",
    "1e-300",
    "4294967297",
    "18446744073709551616",
    "-9223372036854775808",
    "nan",
    "inf",
    "1000000000",
    "65536",
];
const DURATIONS: &[&str] = &[
    "\"0s\"",
    "\"-1s\"",
    "\"1e-300s\"",
    "\"1ms\"",
    "\"\"",
    "\"1000000y\"",
    "\"1001y\"",
    "\"x\"",
    "\"5 s\"",
    "\"1s1s\"",
    "\"100%\"",
    "\"101%\"",
];
const VALUES: &[&str] = &[
    "true",
    "[]",
    "{}",
    "\"\"",
    "\"C\"",
    "\"c\"",
    "\"nowhere\"",
    "[\"A\", \"A\"]",
    "{ dist = \"weibull\" }",
    "{ dist = \"exponential\", mean = 0 }",
    "{ dist = \"empirical\", samples = [] }",
    "{ calibration = \"/dev/zero\", name = \"x\" }",
    "{ calibration = \"mutant.toml\", name = \"x\" }",
    "{ dist = \"uniform\", min = \"2s\", max = \"1s\" }",
];

/// One mutation of `text`: a value replaced, a line deleted, a key misspelt, a header
/// repeated, the file cut short or given bytes that are not UTF-8.
fn mutate(text: &str, rng: &mut Xoshiro256PlusPlus) -> Vec<u8> {
    let lines: Vec<&str> = text.lines().collect();
    let pick = |rng: &mut Xoshiro256PlusPlus, list: &[&'static str]| -> &'static str {
        list[rng.random_range(0..list.len())]
    };
    // Lines that set something (`key = value`), the ones worth damaging.
    let settings: Vec<usize> = (0..lines.len())
        .filter(|&i| {
            let l = lines[i].trim_start();
            !l.starts_with('#') && l.contains(" = ")
        })
        .collect();
    if settings.is_empty() {
        return text.as_bytes().to_vec();
    }
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let at = settings[rng.random_range(0..settings.len())];
    let (key, value) = out[at].split_once(" = ").expect("a setting");
    let (key, value) = (key.to_string(), value.to_string());
    // Mostly values (what the model's reader judges), some structure and bytes (what the
    // TOML parser and the file reader judge).
    match rng.random_range(0..16u32) {
        0..=3 => out[at] = format!("{key} = {}", pick(rng, NUMBERS)),
        4..=5 => out[at] = format!("{key} = {}", pick(rng, DURATIONS)),
        6..=8 => out[at] = format!("{key} = {}", pick(rng, VALUES)),
        9 => {
            out.remove(at);
        }
        10 => {
            // A misspelt key: a letter dropped, or upper case.
            let k = key.trim();
            let typo = if k.len() > 2 && rng.random_range(0..2u32) == 0 {
                let cut = rng.random_range(0..k.len());
                format!("{}{}", &k[..cut], &k[cut + 1..])
            } else {
                k.to_uppercase()
            };
            out[at] = format!("{typo} = {value}");
        }
        11..=12 => {
            // A number inside the value replaced (inline tables, lists).
            let v: String = value
                .chars()
                .map(|c| if c.is_ascii_digit() { '9' } else { c })
                .collect();
            out[at] = format!("{key} = {v}");
        }
        13 => {
            // A table header damaged or repeated.
            let headers: Vec<usize> = (0..out.len())
                .filter(|&i| out[i].trim_start().starts_with('['))
                .collect();
            if let Some(&h) = headers.get(rng.random_range(0..headers.len().max(1))) {
                let copy = out[h].clone();
                if rng.random_range(0..2u32) == 0 {
                    out.insert(at, copy);
                } else {
                    out[h] = copy.replace(']', "");
                }
            }
        }
        14 => {
            // Cut short at a byte, perhaps inside a character.
            let bytes = out.join("\n").into_bytes();
            let cut = rng.random_range(0..bytes.len());
            return bytes[..cut].to_vec();
        }
        _ => {
            // A byte that is not UTF-8 in the middle of a line.
            let mut bytes = out.join("\n").into_bytes();
            let pos = rng.random_range(0..bytes.len());
            bytes.insert(pos, 0xff);
            return bytes;
        }
    }
    (out.join("\n") + "\n").into_bytes()
}

/// What one mutant's run ended with.
struct Ending {
    code: Option<i32>,
    stderr: String,
    timed_out: bool,
}

/// `hasim run MUTANT -n 2` under the memory cap and the time limit.
fn run(mutant: &Path) -> Ending {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {MEMORY_KB}; exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_hasim"))
        .args(["run", "-n", "2", "--threads", "1", "--format", "json"])
        .arg(mutant)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let (status, timed_out) = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break (s, false);
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            break (child.wait().unwrap(), true);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    Ending {
        code: status.code(),
        stderr: reader.join().unwrap(),
        timed_out,
    }
}

/// A copy of the bundled models and the calibration files they refer to, so that a
/// mutant beside them resolves the same relative paths.
fn workspace() -> (tempfile::TempDir, Vec<(String, String)>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    for sub in ["models", "calibration"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
        for e in std::fs::read_dir(root.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                std::fs::copy(&p, dir.path().join(sub).join(p.file_name().unwrap())).unwrap();
            }
        }
    }
    let mut models: Vec<(String, String)> = std::fs::read_dir(root.join("models"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    models.sort();
    (dir, models)
}

/// Whether a refusal names `file` and a line: `FILE:LINE:` (the mutant, or a file it
/// refers to), or the event budget's message, which names the history instead.
fn names_a_line(stderr: &str) -> bool {
    let located = stderr.split(".toml:").skip(1).any(|rest| {
        rest.split(':')
            .next()
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    });
    located || stderr.contains("events, the most one history may take")
}

#[test]
fn thousands_of_damaged_models_end_in_a_result_or_a_located_refusal() {
    let (dir, models) = workspace();
    let mut work = vec![];
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(20_261_202);
    for (name, text) in &models {
        for k in 0..PER_MODEL {
            let path = dir
                .path()
                .join("models")
                .join(format!("{name}-mutant-{k}.toml"));
            let mut bytes = text.as_bytes().to_vec();
            // One or two mutations on top of one another.
            for _ in 0..rng.random_range(1..=2u32) {
                let t = String::from_utf8_lossy(&bytes).into_owned();
                if t.lines().any(|l| l.contains(" = ")) {
                    bytes = mutate(&t, &mut rng);
                }
            }
            std::fs::write(&path, &bytes).unwrap();
            work.push(path);
        }
    }
    let next = AtomicUsize::new(0);
    let failures: Mutex<Vec<String>> = Mutex::new(vec![]);
    let tally = Mutex::new([0usize; 2]);
    let workers = std::thread::available_parallelism().map_or(2, usize::from) * 2;
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = work.get(i) else { break };
                    let e = run(path);
                    let shown = path.display();
                    let bad = if e.timed_out {
                        Some(format!("{shown}: no end within {TIME_LIMIT:?}"))
                    } else {
                        match e.code {
                            Some(0) => None,
                            Some(2) if names_a_line(&e.stderr) => None,
                            Some(2) => {
                                Some(format!("{shown}: exit 2 without file:line: {}", e.stderr))
                            }
                            other => Some(format!("{shown}: exit {other:?}: {}", e.stderr)),
                        }
                    };
                    match bad {
                        Some(b) => {
                            // Kept for a look afterwards.
                            let keep = std::env::temp_dir().join(path.file_name().unwrap());
                            let _ = std::fs::copy(path, &keep);
                            failures.lock().unwrap().push(b);
                        }
                        None => {
                            if std::env::var_os("HASIM_MUTANTS_SHOW").is_some() && e.code == Some(2)
                            {
                                eprintln!("{}", e.stderr.trim());
                            }
                            let mut t = tally.lock().unwrap();
                            t[usize::from(e.code == Some(2))] += 1;
                        }
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    let [ran, refused] = tally.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} mutants failed (copies in {}):\n{}",
        failures.len(),
        work.len(),
        std::env::temp_dir().display(),
        failures.join("\n")
    );
    // The mutants exercise both sides: models that still run and models refused.
    assert!(
        ran > work.len() / 20 && refused > work.len() / 4,
        "{ran} ran, {refused} refused"
    );
    eprintln!(
        "{} mutants: {ran} ran, {refused} refused with file:line",
        work.len()
    );
}
