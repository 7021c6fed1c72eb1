//! The book of one history's outages, kept the same way by both engines.
//!
//! Readability is judged once per instant, after every change at that instant has been
//! applied: an outage of length zero is no outage, and two changes at one instant (one
//! stage back up as another goes down) do not split an outage in two. Downtime is in
//! seconds; an outage still open at the horizon is cut there by [`OutageBook::close`].
//! While the read path is down, the time is attributed to one cause at a time: the
//! earliest-started cause among the replicas keeping a read-path stage down, found again
//! whenever a replica changed.

use crate::units::Seconds;

/// No cause: the read path is readable, or the cause is to be found.
pub(super) const NO_CAUSE: u32 = u32::MAX;

#[derive(Clone, Debug)]
pub(super) struct OutageBook {
    pub readable: bool,
    /// When the outage in progress began.
    pub outage_start: Seconds,
    /// Time unreadable in the outages that ended.
    pub downtime: Seconds,
    /// Sum of the squared lengths of the outages that ended.
    pub downtime_sq: f64,
    /// Outages begun, the one in progress included.
    pub outages: u64,
    cause: u32,
    cause_since: Seconds,
    /// A replica changed since the cause was last found.
    pub cause_dirty: bool,
    /// Time unreadable attributed to each cause.
    pub cause_downtime: Vec<Seconds>,
}

impl OutageBook {
    pub fn new(causes: usize) -> Self {
        OutageBook {
            readable: true,
            outage_start: 0.0,
            downtime: 0.0,
            downtime_sq: 0.0,
            outages: 0,
            cause: NO_CAUSE,
            cause_since: 0.0,
            cause_dirty: false,
            cause_downtime: vec![0.0; causes],
        }
    }

    /// Readable, nothing counted: the start of a history.
    pub fn reset(&mut self) {
        let mut causes = std::mem::take(&mut self.cause_downtime);
        causes.iter_mut().for_each(|c| *c = 0.0);
        *self = OutageBook {
            cause_downtime: causes,
            ..OutageBook::new(0)
        };
    }

    /// Books the read path's state after the instant `t`; `cause` names what keeps it
    /// down (called only while it is down and a replica changed). True when readability
    /// changed at `t`.
    #[inline(always)]
    pub fn judge(&mut self, t: Seconds, readable: bool, cause: impl FnOnce() -> u32) -> bool {
        let changed = readable != self.readable;
        if changed {
            self.readable = readable;
            if readable {
                let d = t - self.outage_start;
                self.downtime += d;
                self.downtime_sq += d * d;
            } else {
                self.outage_start = t;
                self.outages += 1;
            }
        }
        if !readable {
            if self.cause_dirty || self.cause == NO_CAUSE {
                self.attribute_until(t);
                self.cause = cause();
                self.cause_since = t;
                self.cause_dirty = false;
            }
        } else if self.cause != NO_CAUSE {
            self.attribute_until(t);
        }
        changed
    }

    /// Adds the time since the cause was found to it.
    #[inline]
    fn attribute_until(&mut self, t: Seconds) {
        if self.cause != NO_CAUSE {
            self.cause_downtime[self.cause as usize] += t - self.cause_since;
            self.cause = NO_CAUSE;
        }
    }

    /// Books an outage from `from` to `to` (`from < to`) of one cause, begun while the
    /// read path was readable and with nothing else changing in between: what
    /// [`OutageBook::judge`] at `from` (down, `cause`) and at `to` (readable) would book.
    #[inline(always)]
    pub fn isolated(&mut self, from: Seconds, to: Seconds, cause: u32) {
        debug_assert!(self.readable && self.cause == NO_CAUSE && from < to);
        let d = to - from;
        self.outage_start = from;
        self.outages += 1;
        self.downtime += d;
        self.downtime_sq += d * d;
        self.cause_downtime[cause as usize] += d;
        self.cause_since = from;
        self.cause_dirty = false;
    }

    /// Cuts an outage in progress at the horizon; the book is readable afterwards.
    pub fn close(&mut self, horizon: Seconds) {
        if !self.readable {
            let d = horizon - self.outage_start;
            self.downtime += d;
            self.downtime_sq += d * d;
            self.attribute_until(horizon);
        }
        self.readable = true;
    }

    /// Time unreadable up to `now`, an outage in progress included.
    pub fn downtime_until(&self, now: Seconds) -> Seconds {
        self.downtime
            + if self.readable {
                0.0
            } else {
                now - self.outage_start
            }
    }

    /// Time unreadable attributed to each cause up to `now`, the outage in progress
    /// included, into `out` (one entry per cause).
    pub fn cause_downtime_until(&self, now: Seconds, out: &mut [Seconds]) {
        out.copy_from_slice(&self.cause_downtime);
        if !self.readable && self.cause != NO_CAUSE {
            out[self.cause as usize] += now - self.cause_since;
        }
    }

    /// The outages that ended and the sum of their squared lengths.
    pub fn ended(&self) -> (u64, f64) {
        (self.outages - u64::from(!self.readable), self.downtime_sq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    /// `isolated` books exactly what judging the outage's two ends books, to the bit.
    #[test]
    fn an_isolated_outage_is_booked_as_judging_its_two_ends() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(5);
        let (mut judged, mut at_once) = (OutageBook::new(4), OutageBook::new(4));
        let mut t = 0.0;
        for _ in 0..1000 {
            let from = t + rng.random::<f64>() * 1e4;
            let to = from + rng.random::<f64>() * 1e3 + 1e-9;
            let cause = rng.random_range(0..4);
            t = to;
            judged.cause_dirty = true;
            assert!(judged.judge(from, false, || cause));
            judged.cause_dirty = true;
            assert!(judged.judge(to, true, || unreachable!()));
            at_once.isolated(from, to, cause);
            let state = |b: &OutageBook| {
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                (
                    b.readable,
                    b.outage_start.to_bits(),
                    bits(&[b.downtime, b.downtime_sq, b.cause_since]),
                    b.outages,
                    b.cause,
                    bits(&b.cause_downtime),
                )
            };
            assert_eq!(state(&judged), state(&at_once));
        }
    }
}
