//! What a long command shows on standard error while it works: a bar with an estimate of
//! the time left, or notes on what it is doing. Nothing of it with `--quiet`; no bar off a
//! terminal (indicatif draws nothing there) or for work done within a second. Warnings
//! and errors are not progress: they are always written.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

static QUIET: AtomicBool = AtomicBool::new(false);

/// `--quiet`: no bars, no notes.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// A note on what the command is doing (`hasim advise: measuring …`), unless `--quiet`.
pub fn note(text: impl std::fmt::Display) {
    if !quiet() {
        eprintln!("{text}");
    }
}

/// How the time left is estimated from the work done: the mean rate since the start (not
/// the rate of the last steps, which a bar created late, or a first block that is all
/// start-up, makes wildly wrong), and only once there is something to go on.
pub fn time_left(elapsed: Duration, done: u64, total: u64) -> Option<Duration> {
    if done == 0 || elapsed < Duration::from_millis(500) {
        return None;
    }
    let per_unit = elapsed.as_secs_f64() / done as f64;
    Some(Duration::from_secs_f64(
        per_unit * total.saturating_sub(done) as f64,
    ))
}

/// `1h 02m`, `3m 05s`, `42s`: the time left as people read it.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s / 60 % 60),
    }
}

/// A bar of `total` units (histories, points), or a counter when the total is not known
/// beforehand (a report's points).
pub struct Progress {
    total: Option<u64>,
    unit: &'static str,
    /// The total is a cap (a run to a precision may stop before it): the time left is at
    /// most the estimate.
    cap: bool,
    started: Instant,
    bar: Mutex<Option<ProgressBar>>,
}

impl Progress {
    pub fn new(total: u64, unit: &'static str) -> Self {
        Progress {
            total: Some(total),
            unit,
            cap: false,
            started: Instant::now(),
            bar: Mutex::new(None),
        }
    }

    /// A total that the work may stop short of (`--precision` with its cap).
    pub fn at_most(total: u64, unit: &'static str) -> Self {
        Progress {
            cap: true,
            ..Progress::new(total, unit)
        }
    }

    /// A counter without a total.
    pub fn open_ended(unit: &'static str) -> Self {
        Progress {
            total: None,
            ..Progress::new(0, unit)
        }
    }

    /// `done` units finished; `what` (may be empty) is the unit under way.
    pub fn update(&self, done: u64, what: &str) {
        let elapsed = self.started.elapsed();
        if quiet() || elapsed < Duration::from_secs(1) {
            return;
        }
        let mut b = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        let pb = b.get_or_insert_with(|| self.bar());
        pb.set_position(done);
        pb.set_message(self.message(elapsed, done, what));
    }

    fn bar(&self) -> ProgressBar {
        let template = match self.total {
            Some(_) => "{bar:40} {pos}/{len} {msg}",
            None => "{spinner} {pos} {msg}",
        };
        let pb = match self.total {
            Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            pb.set_style(style);
        }
        pb.enable_steady_tick(Duration::from_millis(250));
        pb
    }

    fn message(&self, elapsed: Duration, done: u64, what: &str) -> String {
        let now = if what.is_empty() {
            String::new()
        } else {
            format!(" (now: {what})")
        };
        let Some(total) = self.total else {
            return format!("{} done in {}{now}", self.unit, human(elapsed));
        };
        let left = match time_left(elapsed, done, total) {
            Some(d) if self.cap => format!("at most {} left", human(d)),
            Some(d) => format!("about {} left", human(d)),
            None => "time left not known yet".to_string(),
        };
        format!("{}, {left}{now}", self.unit)
    }

    /// Runs `f` (which writes to the terminal) with the bar cleared, then draws it again.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        let b = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        match b.as_ref() {
            Some(pb) => pb.suspend(f),
            None => f(),
        }
    }

    pub fn finish(self) {
        if let Some(pb) = self.bar.into_inner().unwrap_or_else(|e| e.into_inner()) {
            pb.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_left_is_the_mean_rate_since_the_start_and_unknown_before_any_work() {
        let s = Duration::from_secs;
        assert_eq!(time_left(s(10), 0, 100), None, "nothing done: no estimate");
        assert_eq!(time_left(Duration::from_millis(100), 5, 100), None);
        assert_eq!(time_left(s(10), 25, 100), Some(s(30)));
        assert_eq!(time_left(s(10), 100, 100), Some(s(0)));
        assert_eq!(time_left(s(10), 120, 100), Some(s(0)));
        // A bar that appears after one second with a quarter done still says 3 s, not 0 s.
        assert_eq!(time_left(s(1), 250, 1000), Some(s(3)));
        assert_eq!(human(s(42)), "42s");
        assert_eq!(human(s(185)), "3m 05s");
        assert_eq!(human(s(3720)), "1h 02m");
    }
}
