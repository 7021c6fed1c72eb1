//! Many histories in parallel, with numbers that do not depend on the thread count.
//!
//! Replication `i` draws all of its randomness from [`crate::sim::history_rng`]`(seed, i)`.
//! Replications are cut into fixed chunks of [`CHUNK`] consecutive indices, and chunks
//! into blocks of [`BLOCK`] replications, both aligned to absolute indices. A chunk is
//! simulated by one thread, folding its histories into a [`Tally`] in index order; a
//! block's tally folds its chunks in order, and the run's tally folds the blocks in
//! order. Workers take chunks one after another, at most a window of chunks ahead of the
//! fold (no barrier between groups of chunks; memory does not grow with the number of
//! replications), and the result is identical whatever the number of threads — and,
//! since shards of a run are whole blocks, whatever the number of shards (`hasim merge`
//! folds the shards' blocks in the same order). Precision-driven runs stop at a block
//! boundary, so the same seed stops at the same replication.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use super::Tally;
use crate::model::Model;
use crate::sim::{Engine, EngineChoice};

/// Replications per chunk (the unit of work and of ordered merging).
pub const CHUNK: u64 = 500;

/// Replications per block (the unit of shards, of stored tallies and of stopping rules).
pub const BLOCK: u64 = 64 * CHUNK;

/// How to run.
#[derive(Clone, Debug)]
pub struct RunPlan {
    pub seed: u64,
    /// Replication indices `first .. first + count`.
    pub first: u64,
    pub count: u64,
    /// Worker threads; 0 = one per core.
    pub threads: usize,
    /// The engine (results differ between engines, not between thread counts).
    pub engine: EngineChoice,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot start {threads} worker threads: {source}")]
    Threads {
        threads: usize,
        source: rayon::ThreadPoolBuildError,
    },
    #[error(
        "replication {replication} (seed {seed}) took more than {} events, the most one history may take: something in the model happens far too often (a failure or restart near zero time, a fault persisting through instant restarts); `hasim trace --replication {replication} | head -1000` shows how it begins",
        crate::sim::MAX_EVENTS
    )]
    EventBudget { replication: u64, seed: u64 },
}

/// The merged tally and the number of threads that produced it.
pub struct RunOutput {
    pub tally: Tally,
    pub threads: usize,
    /// The engine that simulated the histories (`events` or `timelines`).
    pub engine: &'static str,
    /// The run ended early because `stop` said so after this many replications.
    pub stopped_early: bool,
}

/// Sees a block's tally: (index of its first replication, tally).
pub type BlockSink<'a> = &'a mut dyn FnMut(u64, &Tally);

/// What a run does besides simulating.
#[derive(Default)]
pub struct Hooks<'a> {
    /// Called with the number of replications done so far.
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
    /// Sees every block's tally, in order, as it is folded in (index of its first
    /// replication, tally).
    pub on_block: Option<BlockSink<'a>>,
    /// Asked after every block with the run's tally so far: `true` ends the run there.
    pub stop: Option<&'a dyn Fn(&Tally) -> bool>,
    /// Another model (of the same horizon) simulated from the same streams, history by
    /// history: the tally's `paired` holds the differences of X (a paired comparison, far
    /// narrower than two separate intervals when the models share most events).
    pub paired: Option<&'a Model>,
}

/// The chunks of `first .. first + count`, aligned to absolute multiples of [`CHUNK`],
/// computed when asked for (a run of 10¹² replications holds no list of them).
struct Chunks {
    first: u64,
    end: u64,
}

impl Chunks {
    fn new(first: u64, count: u64) -> Self {
        Chunks {
            first,
            end: first + count,
        }
    }

    fn len(&self) -> usize {
        if self.end <= self.first {
            return 0;
        }
        let n = (self.end - 1) / CHUNK - self.first / CHUNK + 1;
        usize::try_from(n).unwrap_or(usize::MAX)
    }

    /// Chunk `c`: replications `from .. to`.
    fn get(&self, c: usize) -> (u64, u64) {
        let start = if c == 0 {
            self.first
        } else {
            (self.first / CHUNK + c as u64) * CHUNK
        };
        let to = ((start / CHUNK + 1) * CHUNK).min(self.end);
        (start, to)
    }
}

/// Simulates `plan.count` histories; `progress` is called with the number done so far.
pub fn simulate(
    model: &Model,
    plan: &RunPlan,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<RunOutput, RunError> {
    simulate_with(
        model,
        plan,
        Hooks {
            progress: Some(progress),
            ..Hooks::default()
        },
    )
}

/// Simulates `plan.count` histories (fewer if `hooks.stop` ends the run at a block).
pub fn simulate_with(
    model: &Model,
    plan: &RunPlan,
    mut hooks: Hooks<'_>,
) -> Result<RunOutput, RunError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(plan.threads)
        .build()
        .map_err(|source| RunError::Threads {
            threads: plan.threads,
            source,
        })?;
    let threads = pool.current_num_threads();
    let engine = Engine::new(model, plan.engine).name();
    let chunks = Chunks::new(plan.first, plan.count);
    let dispatch = Dispatch::new(chunks.len(), (threads * 64).max(1));
    // Built once: a tally knows its causes, which takes a look at the whole model.
    let empty = Tally::new(model);
    let mut total = empty.clone();
    let mut block = empty.clone();
    let mut block_first: Option<u64> = None;
    let mut done = 0;
    let mut stopped_early = false;
    let mut flush = |block: &mut Tally, first: u64, total: &mut Tally| -> bool {
        total.merge(block);
        if let Some(f) = hooks.on_block.as_mut() {
            f(first, block);
        }
        *block = empty.clone();
        hooks.stop.is_some_and(|stop| stop(total))
    };
    // A chunk's tally, or the replication that went past the event budget.
    let (sender, finished) = std::sync::mpsc::channel::<(usize, Result<Tally, u64>)>();
    let paired = hooks
        .paired
        .filter(|p| p.simulation.horizon == model.simulation.horizon);
    let mut over_budget = None;
    pool.in_place_scope(|scope| {
        for _ in 0..threads {
            let (sender, dispatch, chunks, empty) = (sender.clone(), &dispatch, &chunks, &empty);
            scope.spawn(move |_| {
                let _stop_on_panic = StopOnPanic(dispatch);
                let mut sim = Engine::new(model, plan.engine);
                let mut pair = paired.map(|m| Engine::new(m, plan.engine));
                while let Some(c) = dispatch.take() {
                    let t =
                        simulate_chunk(&mut sim, pair.as_mut(), plan.seed, chunks.get(c), empty);
                    if sender.send((c, t)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        // Chunks arrive in any order; they are folded in index order.
        let mut arrived = BTreeMap::new();
        let mut next = 0;
        'fold: for (c, t) in finished.iter() {
            let t = match t {
                Ok(t) => t,
                Err(replication) => {
                    over_budget = Some(replication);
                    break 'fold;
                }
            };
            arrived.insert(c, t);
            while let Some(t) = arrived.remove(&next) {
                let id = chunks.get(next).0 / BLOCK * BLOCK;
                if let Some(first) = block_first
                    && first != id
                    && flush(&mut block, first, &mut total)
                {
                    stopped_early = true;
                    block_first = None;
                    break 'fold;
                }
                block_first = Some(id);
                block.merge(&t);
                done += t.replications();
                next += 1;
            }
            dispatch.folded(next);
            if let Some(p) = hooks.progress {
                p(done);
            }
        }
        // Workers still simulating chunks past a stop find no more to take.
        dispatch.stop();
    });
    if let Some(replication) = over_budget {
        return Err(RunError::EventBudget {
            replication,
            seed: plan.seed,
        });
    }
    if let Some(first) = block_first {
        // The last block: the run ends here whatever `stop` says.
        flush(&mut block, first, &mut total);
    }
    Ok(RunOutput {
        tally: total,
        threads,
        engine,
        stopped_early,
    })
}

/// Replications `from .. to` into a tally (with `pair` simulated from the same streams,
/// the differences of X in its `paired`); the first replication past the event budget
/// instead.
fn simulate_chunk(
    sim: &mut Engine,
    mut pair: Option<&mut Engine>,
    seed: u64,
    (from, to): (u64, u64),
    empty: &Tally,
) -> Result<Tally, u64> {
    let mut t = empty.clone();
    for i in from..to {
        let o = sim.run(seed, i);
        if o.over_budget() {
            return Err(i);
        }
        t.push(&o);
        let x = o.downtime;
        if let Some(p) = pair.as_deref_mut() {
            let b = p.run(seed, i);
            if b.over_budget() {
                return Err(i);
            }
            t.paired.push(x - b.downtime);
            t.paired_lost.push(o.lost - b.lost);
        }
    }
    Ok(t)
}

/// Hands chunk indices to workers in order, each at most `window` chunks ahead of the
/// fold, so a slow chunk holds back only that many finished ones.
struct Dispatch {
    next: AtomicUsize,
    count: usize,
    window: usize,
    folded: Mutex<usize>,
    moved: Condvar,
    stopped: AtomicBool,
}

impl Dispatch {
    fn new(count: usize, window: usize) -> Self {
        Dispatch {
            next: AtomicUsize::new(0),
            count,
            window,
            folded: Mutex::new(0),
            moved: Condvar::new(),
            stopped: AtomicBool::new(false),
        }
    }

    /// The next chunk to simulate, once it is within the window; `None` when there is
    /// none left or the run stopped.
    fn take(&self) -> Option<usize> {
        let c = self.next.fetch_add(1, Ordering::Relaxed);
        if c >= self.count {
            return None;
        }
        let mut folded = self.folded.lock().unwrap_or_else(|e| e.into_inner());
        while c >= *folded + self.window && !self.stopped.load(Ordering::Relaxed) {
            folded = self.moved.wait(folded).unwrap_or_else(|e| e.into_inner());
        }
        drop(folded);
        (!self.stopped.load(Ordering::Relaxed)).then_some(c)
    }

    /// The chunks before `n` are folded.
    fn folded(&self, n: usize) {
        *self.folded.lock().unwrap_or_else(|e| e.into_inner()) = n;
        self.moved.notify_all();
    }

    fn stop(&self) {
        let _folded = self.folded.lock().unwrap_or_else(|e| e.into_inner());
        self.stopped.store(true, Ordering::Relaxed);
        self.moved.notify_all();
    }
}

/// Stops the run if a worker unwinds, so that no other worker waits for its chunk.
struct StopOnPanic<'a>(&'a Dispatch);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop();
        }
    }
}

/// Runs a model and reports its results: the whole of `hasim run` but the printing.
/// With `precision`, the run ends at the first block where the interval's half-width is
/// at most `precision` × the unavailability (or after `plan.count` replications).
pub fn run_report(
    model: &Model,
    plan: &RunPlan,
    precision: Option<f64>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<crate::estimate::results::RunReport, RunError> {
    run_report_paired(model, None, plan, precision, progress)
}

/// [`run_report`], with the difference of X to `paired` (simulated from the same streams)
/// in the report's `downtime_difference_seconds` when the horizons agree.
pub fn run_report_paired(
    model: &Model,
    paired: Option<&Model>,
    plan: &RunPlan,
    precision: Option<f64>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<crate::estimate::results::RunReport, RunError> {
    use crate::estimate::results::Stopping;
    let confidence = model.simulation.confidence;
    let reached = |t: &Tally| {
        precision
            .is_some_and(|p| Stopping::relative_half_width(t, confidence).is_some_and(|r| r <= p))
    };
    let started = std::time::Instant::now();
    let out = simulate_with(
        model,
        plan,
        Hooks {
            progress: Some(progress),
            stop: precision
                .is_some()
                .then_some(&reached as &dyn Fn(&Tally) -> bool),
            paired,
            ..Hooks::default()
        },
    )?;
    let wall = started.elapsed().as_secs_f64();
    let n = out.tally.replications();
    let years = n as f64 * model.simulation.horizon / crate::units::YEAR;
    let perf = crate::estimate::results::Perf {
        wall_seconds: wall,
        years_per_second: years / wall.max(1e-9),
        events: out.tally.events,
        threads: out.threads,
        engine: out.engine.into(),
    };
    let mut report = crate::estimate::results::RunReport::new(model, plan.seed, &out.tally, perf);
    if let Some(p) = precision {
        report.stopping.precision = Some(p);
        report.stopping.reason = if out.stopped_early || reached(&out.tally) {
            "precision"
        } else {
            "max_replications"
        };
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chunks, listed the slow way: consecutive, aligned to multiples of CHUNK.
    fn listed(first: u64, count: u64) -> Vec<(u64, u64)> {
        let end = first + count;
        let mut v = vec![];
        let mut a = first;
        while a < end {
            let b = ((a / CHUNK + 1) * CHUNK).min(end);
            v.push((a, b));
            a = b;
        }
        v
    }

    #[test]
    fn chunks_are_computed_as_a_list_would_hold_them() {
        for first in [0, 1, CHUNK - 1, CHUNK, 3 * CHUNK + 7, BLOCK] {
            for count in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 3, BLOCK] {
                let c = Chunks::new(first, count);
                let want = listed(first, count);
                assert_eq!(c.len(), want.len(), "{first} {count}");
                for (i, w) in want.iter().enumerate() {
                    assert_eq!(c.get(i), *w, "{first} {count} chunk {i}");
                }
            }
        }
        // A trillion replications: no list, and the last chunk ends at the end.
        let c = Chunks::new(0, 1_000_000_000_000);
        assert_eq!(c.get(c.len() - 1).1, 1_000_000_000_000);
    }
}
