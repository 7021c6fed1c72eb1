//! A run cut into shards that run anywhere (e.g. as a Kubernetes Indexed Job) and merged
//! into exactly the numbers of the whole run.
//!
//! Shard `I` of `N` simulates whole blocks ([`BLOCK`] replications, aligned to absolute
//! indices) and writes a *part*: JSON lines, a `header` (the resolved model, seed, total
//! replications, the shard), one `block` line per block with its tally (written as each
//! block completes, so memory stays flat), and an `end` line once the shard is complete.
//! `hasim merge` checks that the parts belong to one run and cover it once, then folds
//! the blocks in index order — the order `hasim run` folds them in — so the result is
//! identical bit for bit.

use std::io::{BufRead, Write};

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Tally;
use super::plain::{BLOCK, Hooks, RunError, RunPlan, simulate_with};
use super::results::Perf;
use super::uncertainty::{
    Draw, UncertaintyError, UncertaintyPlan, UncertaintyReport, run_draws, summarise_draws,
};
use crate::model::Model;
use crate::sim::{Engine, EngineChoice};

/// `I/N`: shard `I` (from 0) of `N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}`: expected I/N with 0 <= I < N, e.g. 0/8");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u64, u64) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// Refuses a run of `total` replications too small to give every one of `count`
    /// shards a block (shards are whole blocks), naming the least `-n` that does.
    pub fn check_total(self, total: u64) -> Result<(), String> {
        let blocks = total.div_ceil(BLOCK);
        if blocks >= self.count {
            return Ok(());
        }
        Err(format!(
            "-n {total} is {blocks} block(s) of {BLOCK} replications, too few for {} shards (shards are whole blocks, and a shard with none would do no work): give -n at least {}, or at most {blocks} shard(s)",
            self.count,
            (self.count - 1) * BLOCK + 1
        ))
    }

    /// The replications `first .. first + count` of this shard of a run of `total`:
    /// whole blocks, split as evenly as blocks allow.
    pub fn range(self, total: u64) -> (u64, u64) {
        let blocks = total.div_ceil(BLOCK);
        let from = blocks * self.index / self.count;
        let to = blocks * (self.index + 1) / self.count;
        let first = (from * BLOCK).min(total);
        let end = (to * BLOCK).min(total);
        (first, end - first)
    }
}

/// The first line of a part.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// The part format's version: its schema version (`docs/schema/part.schema.json`).
    /// Parts older than the name were written with `format`.
    #[serde(alias = "format")]
    pub schema_version: u32,
    pub hasim_version: String,
    /// The model, resolved (`hasim check`'s output): a part carries what it ran.
    pub model: String,
    pub seed: u64,
    /// Replications of the whole run.
    pub replications: u64,
    pub shard: Shard,
    /// The engine that simulates the histories (`events` or `timelines`): parts made by
    /// different engines hold different draws and do not merge.
    pub engine: String,
    /// This shard's replications: `first .. first + count`.
    pub first: u64,
    pub count: u64,
    /// A two-loop run (`--uncertainty`): its draws and histories per draw; this shard
    /// simulates draws `draws_first .. draws_first + draws_count` of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncertainty: Option<UncertaintyShard>,
}

/// The outer loop of a two-loop run, cut like the blocks: draws split evenly by shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UncertaintyShard {
    pub draws: u64,
    pub replications: u64,
    pub draws_first: u64,
    pub draws_count: u64,
}

impl Shard {
    /// This shard's draws `first .. first + count` of `draws`.
    pub fn draws(self, draws: u64) -> (u64, u64) {
        let from = draws * self.index / self.count;
        let to = draws * (self.index + 1) / self.count;
        (from, to - from)
    }
}

/// The last line of a complete part.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct End {
    pub wall_seconds: f64,
    pub threads: usize,
    pub blocks: u64,
    /// SHA-256 (hex) of every byte of the part before this line: `merge` refuses a part
    /// whose header or blocks were changed.
    pub sha256: String,
}

/// The longest line `merge` reads (a header carries the resolved model).
const LINE_CAP: u64 = 64 << 20;

fn hex(digest: &[u8]) -> String {
    use std::fmt::Write as _;
    digest.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Line {
    Header(Header),
    Block {
        first: u64,
        tally: Box<Tally>,
    },
    /// One draw of a two-loop run, by its index in the whole run.
    Draw {
        index: u64,
        draw: Box<Draw>,
    },
    End(End),
}

pub const FORMAT: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("cannot write the part: {0}")]
    Write(std::io::Error),
    /// Parts that cannot be merged (named, with why).
    #[error("{0}")]
    Merge(String),
}

/// Runs one shard of a run of `total` replications — and, with `uncertainty` (draws,
/// histories per draw), its share of the two-loop run's draws — and writes its part to
/// `out`.
#[allow(clippy::too_many_arguments)]
pub fn run_shard(
    model: &Model,
    seed: u64,
    total: u64,
    shard: Shard,
    threads: usize,
    engine: EngineChoice,
    uncertainty: Option<(u64, u64)>,
    out: &mut dyn Write,
) -> Result<End, ShardError> {
    let (first, count) = shard.range(total);
    let uncertainty = uncertainty.map(|(draws, replications)| {
        let (draws_first, draws_count) = shard.draws(draws);
        UncertaintyShard {
            draws,
            replications,
            draws_first,
            draws_count,
        }
    });
    let header = Header {
        schema_version: FORMAT,
        hasim_version: crate::schema::HASIM_VERSION.into(),
        model: model.to_resolved_toml(),
        seed,
        replications: total,
        shard,
        engine: Engine::new(model, engine).name().into(),
        first,
        count,
        uncertainty,
    };
    let body = std::cell::RefCell::new(Sha256::new());
    let line = |l: &Line, out: &mut dyn Write| -> Result<(), ShardError> {
        let mut bytes = serde_json::to_vec(l).map_err(|e| ShardError::Write(e.into()))?;
        bytes.push(b'\n');
        body.borrow_mut().update(&bytes);
        out.write_all(&bytes)
            .and_then(|()| out.flush())
            .map_err(ShardError::Write)
    };
    line(&Line::Header(header), out)?;
    let started = std::time::Instant::now();
    let mut blocks = 0;
    let mut failure = None;
    let mut on_block = |first: u64, tally: &Tally| {
        if failure.is_none() {
            blocks += 1;
            let l = Line::Block {
                first,
                tally: Box::new(tally.clone()),
            };
            if let Err(e) = line(&l, out) {
                failure = Some(e);
            }
        }
    };
    let plan = RunPlan {
        seed,
        first,
        count,
        threads,
        engine,
    };
    let output = simulate_with(
        model,
        &plan,
        Hooks {
            on_block: Some(&mut on_block),
            ..Hooks::default()
        },
    )?;
    if let Some(e) = failure {
        return Err(e);
    }
    if let Some(u) = uncertainty {
        let plan = UncertaintyPlan {
            draws: u.draws,
            replications: u.replications,
            seed,
            threads,
            engine,
        };
        let range = u.draws_first..u.draws_first + u.draws_count;
        let mut write_failure = None;
        let mut on_draw = |index: u64, d: &Draw| {
            let l = Line::Draw {
                index,
                draw: Box::new(d.clone()),
            };
            line(&l, out).map_err(|e| {
                let m = e.to_string();
                write_failure = Some(e);
                UncertaintyError::Stopped(m)
            })
        };
        match run_draws(model, &plan, range, &|_| {}, &mut on_draw) {
            Ok(_) => {}
            Err(UncertaintyError::Run(e)) => return Err(e.into()),
            Err(e) => return Err(write_failure.unwrap_or(ShardError::Merge(e.to_string()))),
        }
    }
    let end = End {
        wall_seconds: started.elapsed().as_secs_f64(),
        threads: output.threads,
        blocks,
        sha256: hex(&body.take().finalize()),
    };
    line(&Line::End(end.clone()), out)?;
    Ok(end)
}

/// The merged run: its model, seed, tally and (summed) performance.
pub struct Merged {
    pub model: Model,
    pub seed: u64,
    pub tally: Tally,
    pub perf: Perf,
    /// A two-loop run's report, from every shard's draws.
    pub uncertainty: Option<UncertaintyReport>,
}

fn merge_error(path: &Path, msg: impl std::fmt::Display) -> ShardError {
    ShardError::Merge(format!("{}: {msg}", path.display()))
}

/// A part's lines, each at most [`LINE_CAP`] bytes, from a regular file.
struct PartLines {
    path: PathBuf,
    reader: std::io::BufReader<std::fs::File>,
    number: usize,
}

impl PartLines {
    fn open(path: &Path) -> Result<Self, ShardError> {
        let file = crate::fsio::open_regular(path, u64::MAX).map_err(|e| match e {
            crate::fsio::ReadError::Refused(m) => ShardError::Merge(m),
            other => merge_error(path, other),
        })?;
        Ok(PartLines {
            path: path.to_path_buf(),
            reader: std::io::BufReader::new(file),
            number: 0,
        })
    }

    /// The next line with its newline, or `None` at the end.
    fn next_line(&mut self) -> Result<Option<Vec<u8>>, ShardError> {
        use std::io::Read as _;
        let mut bytes = vec![];
        (&mut self.reader)
            .take(LINE_CAP + 1)
            .read_until(b'\n', &mut bytes)
            .map_err(|e| merge_error(&self.path, e))?;
        self.number += 1;
        if bytes.len() as u64 > LINE_CAP {
            return Err(merge_error(
                &self.path,
                format!(
                    "line {}: longer than {} MiB: not a part line",
                    self.number,
                    LINE_CAP >> 20
                ),
            ));
        }
        Ok((!bytes.is_empty()).then_some(bytes))
    }

    fn parse(&self, bytes: &[u8]) -> Result<Line, ShardError> {
        serde_json::from_slice(bytes).map_err(|e| {
            merge_error(
                &self.path,
                format!("line {}: not a part line: {e}", self.number),
            )
        })
    }
}

/// One part, read line by line: its header, then its blocks fed to `block`; the body's
/// checksum is checked against the end line's.
fn read_part(
    path: &Path,
    mut block: impl FnMut(u64, Tally) -> Result<(), ShardError>,
    draws: &mut Vec<(u64, Draw)>,
) -> Result<(Header, End), ShardError> {
    let mut lines = PartLines::open(path)?;
    let mut header = None;
    let mut end = None;
    let mut body = Sha256::new();
    while let Some(bytes) = lines.next_line()? {
        if end.is_some() {
            return Err(merge_error(
                path,
                format!("line {}: after the end line", lines.number),
            ));
        }
        let line = lines.parse(&bytes)?;
        if !matches!(line, Line::End(_)) {
            body.update(&bytes);
        }
        match (line, &header) {
            (Line::Header(h), None) => {
                if h.schema_version != FORMAT {
                    return Err(merge_error(
                        path,
                        format!(
                            "part format {} (this hasim reads {FORMAT})",
                            h.schema_version
                        ),
                    ));
                }
                header = Some(h);
            }
            (Line::Block { first, tally }, Some(_)) => block(first, *tally)?,
            (Line::Draw { index, draw }, Some(_)) => draws.push((index, *draw)),
            (Line::End(e), Some(_)) => end = Some(e),
            _ => {
                return Err(merge_error(
                    path,
                    format!("line {}: out of order", lines.number),
                ));
            }
        }
    }
    match (header, end) {
        (Some(h), Some(e)) => {
            if hex(&body.finalize()) != e.sha256 {
                return Err(merge_error(
                    path,
                    "changed after it was written: its checksum does not match (run the shard again)",
                ));
            }
            Ok((h, e))
        }
        (None, _) => Err(merge_error(path, "empty: no header")),
        (Some(_), None) => Err(merge_error(
            path,
            "incomplete: the shard did not finish (no end line); run it again",
        )),
    }
}

/// Merges the parts of one run (in any order) into the run's tally.
pub fn merge(paths: &[PathBuf]) -> Result<Merged, ShardError> {
    if paths.is_empty() {
        return Err(ShardError::Merge("no parts to merge".into()));
    }
    // First pass: headers only, to check the parts form one whole run.
    let mut headers = vec![];
    for p in paths {
        let mut lines = PartLines::open(p)?;
        let first = lines.next_line()?.unwrap_or_default();
        match serde_json::from_slice::<Line>(&first) {
            Ok(Line::Header(h)) if h.schema_version == FORMAT => headers.push((p.clone(), h)),
            Ok(Line::Header(h)) => {
                return Err(merge_error(
                    p,
                    format!(
                        "part format {} (this hasim reads {FORMAT})",
                        h.schema_version
                    ),
                ));
            }
            _ => return Err(merge_error(p, "not a hasim part (no header line)")),
        }
    }
    let (p0, h0) = headers[0].clone();
    for (p, h) in &headers[1..] {
        let same = h.model == h0.model
            && h.seed == h0.seed
            && h.replications == h0.replications
            && h.shard.count == h0.shard.count
            && h.engine == h0.engine
            && h.hasim_version == h0.hasim_version
            && h.uncertainty.map(|u| (u.draws, u.replications))
                == h0.uncertainty.map(|u| (u.draws, u.replications));
        if !same {
            return Err(merge_error(
                p,
                format!(
                    "belongs to another run than {} (model, seed, replications, shard count, engine, uncertainty draws or hasim version differ)",
                    p0.display()
                ),
            ));
        }
    }
    headers.sort_by_key(|(_, h)| h.shard.index);
    for (k, (p, h)) in headers.iter().enumerate() {
        if h.shard.index != k as u64 {
            let what = if h.shard.index < k as u64 {
                format!("shard {} given twice", h.shard.index)
            } else {
                format!("shard {k} of {} is missing", h0.shard.count)
            };
            return Err(merge_error(p, what));
        }
    }
    if headers.len() as u64 != h0.shard.count {
        return Err(ShardError::Merge(format!(
            "{} of {} shards given: shard {} is missing",
            headers.len(),
            h0.shard.count,
            headers.len()
        )));
    }
    let model = Model::from_str(
        &format!("{} (the model it carries)", p0.display()),
        &h0.model,
        Path::new("."),
        &[],
    )
    .map_err(|e| merge_error(&p0, e))?;
    let total_reps = h0.replications;

    // Second pass: fold every block in index order, as `hasim run` does.
    let mut tally = Tally::new(&model);
    let mut next = 0u64;
    let mut wall = 0.0;
    let mut threads = 0;
    let mut draws: Vec<(u64, Draw)> = vec![];
    for (p, h) in &headers {
        let before = draws.len();
        let (_, end) = read_part(
            p,
            |first, block| {
                let expected = (total_reps - first).min(BLOCK);
                if first != next || block.replications() != expected {
                    return Err(merge_error(
                        p,
                        format!(
                            "block at replication {first} with {} replications; expected one at {next} with {expected}",
                            block.replications()
                        ),
                    ));
                }
                block
                    .check(&model, expected)
                    .map_err(|e| merge_error(p, format!("block at replication {first}: {e}")))?;
                tally.merge(&block);
                next += expected;
                Ok(())
            },
            &mut draws,
        )?;
        if let Some(u) = h.uncertainty {
            let got: Vec<u64> = draws[before..].iter().map(|d| d.0).collect();
            let want: Vec<u64> = (u.draws_first..u.draws_first + u.draws_count).collect();
            if got != want || h.shard.draws(u.draws) != (u.draws_first, u.draws_count) {
                return Err(merge_error(
                    p,
                    format!(
                        "holds draws {got:?}; shard {} of {} holds draws {}..{} of {}",
                        h.shard.index,
                        h.shard.count,
                        u.draws_first,
                        u.draws_first + u.draws_count,
                        u.draws
                    ),
                ));
            }
        } else if draws.len() > before {
            return Err(merge_error(p, "holds draws its header does not announce"));
        }
        wall += end.wall_seconds;
        threads += end.threads;
    }
    if next != total_reps {
        return Err(ShardError::Merge(format!(
            "the parts hold {next} of the run's {total_reps} replications"
        )));
    }
    let years = total_reps as f64 * model.simulation.horizon / crate::units::YEAR;
    let perf = Perf {
        wall_seconds: wall,
        years_per_second: years / wall.max(1e-9),
        events: tally.events,
        threads,
        engine: h0.engine.clone(),
    };
    let uncertainty = h0.uncertainty.map(|u| {
        let plan = UncertaintyPlan {
            draws: u.draws,
            replications: u.replications,
            seed: h0.seed,
            threads,
            engine: EngineChoice::Auto,
        };
        // Shards in index order hold consecutive draws: the whole run's order.
        summarise_draws(
            &model,
            &plan,
            draws.into_iter().map(|d| d.1).collect(),
            wall,
        )
    });
    Ok(Merged {
        seed: h0.seed,
        model,
        tally,
        perf,
        uncertainty,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_whole_blocks_covering_the_run_once() {
        for total in [1, BLOCK - 1, BLOCK, BLOCK + 1, 10 * BLOCK + 7, 1_000_000] {
            for n in [1, 2, 3, 7, 40] {
                let mut next = 0;
                for i in 0..n {
                    let (first, count) = Shard { index: i, count: n }.range(total);
                    assert_eq!(first, next, "total {total}, {i}/{n}");
                    assert!(first % BLOCK == 0 || count == 0);
                    next = first + count;
                }
                assert_eq!(next, total, "total {total}, n {n}");
            }
        }
    }

    #[test]
    fn shard_specs_parse() {
        assert_eq!("3/8".parse::<Shard>(), Ok(Shard { index: 3, count: 8 }));
        for bad in ["8/8", "1/0", "-1/4", "a/b", "3", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
