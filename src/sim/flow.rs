//! The data flow (MODEL-SPEC.md "Data flow"): a fluid model of metrics from the source
//! through the collector replicas' buffers into the store replicas.
//!
//! Metrics are continuous quantities. Each collector replica `c` has a share `r` metrics/s
//! of the source; the metrics it collects are numbered by a running index κ (a real
//! number), so a buffer — one per collector replica and store replica, first in first
//! out — is a list of segments of κ, each with the production time of its first metric
//! and its production rate. Between events everything is linear, so [`FlowState::advance`]
//! brings the state to a new time in one step per buffer, however many metrics flowed:
//! the cost grows with events, never with metrics.
//!
//! - A buffer whose store replica is down grows; beyond `limit` its oldest metrics are
//!   dropped, and their κ-range is recorded as lost for that store replica.
//! - A ready store replica receives its buffer instantly, or at `drain_rate` (oldest
//!   first, with new metrics joining the back) until it is empty.
//! - A collector restart loses a non-persistent buffer (its κ-ranges are lost for that
//!   store replica). Metrics produced while a collector is not collecting are lost, except
//!   the last `retention` seconds' worth, which it collects when it is back.
//! - A metric counts as kept when at least one store replica stored it: the lost amount of
//!   a collector is the measure of the intersection over store replicas of its lost
//!   κ-ranges, plus what it never collected. Metrics still buffered at the horizon are
//!   not lost.
//! - Freshness: a store replica holds data produced at `newest`; the system is fresh when
//!   readable and a ready store replica has `newest ≥ t − freshness`. With oldest-first
//!   drains, freshness returns only when the drain reaches recent metrics.

use std::collections::VecDeque;

use crate::model::Buffer;
use crate::units::Seconds;

/// Times closer than this are one instant for freshness (float sums of times drift by a
/// few ulps; an ulp at a year is about 4 ns).
const TIME_EPS: Seconds = 1e-6;

/// Metrics `k0..k1` (collection index) produced from time `t0` at `rate` per second.
#[derive(Clone, Copy, Debug)]
struct Seg {
    k0: f64,
    k1: f64,
    t0: Seconds,
    rate: f64,
}

impl Seg {
    fn len(&self) -> f64 {
        self.k1 - self.k0
    }
    /// Production time of the metric at index `k`.
    fn time_at(&self, k: f64) -> Seconds {
        self.t0 + (k - self.k0) / self.rate
    }
}

#[derive(Clone, Debug, Default)]
struct Buf {
    segs: VecDeque<Seg>,
    len: f64,
    /// Production time of the newest metric this store replica holds from this collector.
    newest: Seconds,
    /// κ-ranges that never reached this store replica (sorted, disjoint).
    lost: Vec<(f64, f64)>,
}

impl Buf {
    #[inline]
    fn push(&mut self, seg: Seg) {
        if seg.len() <= 0.0 {
            return;
        }
        if let Some(last) = self.segs.back_mut() {
            // Extend the last segment when the new one continues it exactly.
            let continues = last.k1 == seg.k0
                && last.rate == seg.rate
                && (last.time_at(seg.k0) - seg.t0).abs() < TIME_EPS;
            if continues {
                last.k1 = seg.k1;
                self.len += seg.len();
                return;
            }
        }
        self.len += seg.len();
        self.segs.push_back(seg);
    }

    /// Removes `amount` metrics from the front; returns the production time of the last
    /// one removed (if any was).
    fn pop_front(&mut self, mut amount: f64, lose: bool) -> Option<Seconds> {
        let mut last_time = None;
        while amount > 0.0 {
            let Some(head) = self.segs.front_mut() else {
                break;
            };
            // A remainder within rounding of the head's end takes the whole head.
            let rounding = 1e-12 * head.k1.abs().max(1.0);
            let take = if amount >= head.len() - rounding {
                head.len()
            } else {
                amount
            };
            let k_end = head.k0 + take;
            if lose {
                add_interval(&mut self.lost, head.k0, k_end);
            }
            last_time = Some(head.time_at(k_end));
            amount -= take;
            self.len -= take;
            if take == head.len() {
                self.segs.pop_front();
            } else {
                head.t0 = head.time_at(k_end);
                head.k0 = k_end;
            }
        }
        if self.segs.is_empty() {
            self.len = 0.0;
        }
        last_time
    }

    /// Drops the oldest metrics beyond `limit`, recording them as lost.
    fn drop_overflow(&mut self, limit: f64) {
        let over = self.len - limit;
        if over > 0.0 {
            self.pop_front(over, true);
        }
    }

    fn lose_all(&mut self) {
        if self.segs.is_empty() {
            self.len = 0.0;
            return;
        }
        for seg in self.segs.drain(..) {
            add_interval(&mut self.lost, seg.k0, seg.k1);
        }
        self.len = 0.0;
    }

    /// Delivers everything buffered.
    fn flush(&mut self) {
        if let Some(last) = self.segs.back() {
            self.newest = self.newest.max(last.time_at(last.k1));
        }
        self.segs.clear();
        self.len = 0.0;
    }

    fn draining(&self) -> bool {
        self.len > 0.0
    }
}

fn add_interval(list: &mut Vec<(f64, f64)>, a: f64, b: f64) {
    if b <= a {
        return;
    }
    if let Some(last) = list.last_mut()
        && a <= last.1
    {
        last.1 = last.1.max(b);
        return;
    }
    list.push((a, b));
}

/// Collector `col`, ready again at `t`, collects the `recovered` metrics its source kept
/// (the last `retention` seconds' worth) into its `row` of buffers.
#[cold]
#[inline(never)]
fn collect_retained(
    col: &mut Collector,
    row: &mut [Buf],
    store_up: &[bool],
    buffer: Buffer,
    share: f64,
    recovered: f64,
    t: Seconds,
) {
    let k0 = col.collected;
    col.collected += recovered;
    let seg = Seg {
        k0,
        k1: col.collected,
        t0: t - recovered / share,
        rate: share,
    };
    for (buf, &up) in row.iter_mut().zip(store_up) {
        buf.push(seg);
        if up && buffer.drain_rate.is_none() {
            buf.flush();
        } else if !up {
            buf.drop_overflow(buffer.limit);
        }
    }
}

/// The measure of the intersection of sorted, disjoint interval lists.
fn intersection_measure(lists: &[&[(f64, f64)]]) -> f64 {
    match lists {
        [] => 0.0,
        [one] => one.iter().map(|(a, b)| b - a).sum(),
        [first, rest @ ..] => {
            let mut acc: Vec<(f64, f64)> = first.to_vec();
            for l in rest {
                let mut out = vec![];
                let (mut i, mut j) = (0, 0);
                while i < acc.len() && j < l.len() {
                    let a = acc[i].0.max(l[j].0);
                    let b = acc[i].1.min(l[j].1);
                    if b > a {
                        out.push((a, b));
                    }
                    if acc[i].1 < l[j].1 {
                        i += 1;
                    } else {
                        j += 1;
                    }
                }
                acc = out;
            }
            acc.iter().map(|(a, b)| b - a).sum()
        }
    }
}

#[derive(Clone, Debug, Default)]
struct Collector {
    /// Its share is being produced (the source is up; for a DaemonSet, its node too).
    producing: bool,
    /// The replica is ready.
    ready: bool,
    produced: f64,
    /// κ: metrics collected so far.
    collected: f64,
    /// Produced while not collecting, since it last stopped.
    missed: f64,
}

/// The data-flow state of one history.
#[derive(Clone, Debug)]
pub struct FlowState {
    share: f64,
    buffer: Buffer,
    retention: Seconds,
    freshness: Option<Seconds>,
    n_stores: usize,
    t: Seconds,
    collectors: Vec<Collector>,
    store_up: Vec<bool>,
    bufs: Vec<Buf>,
    /// [`FlowState::any_fresh`] as of the last [`FlowState::sync`]: freshness changes only
    /// when the inputs do or at [`FlowState::next_fresh_check`], where the state is synced.
    fresh: bool,
    /// [`FlowState::next_fresh_check`] as of the last [`FlowState::sync`] (∞: none).
    next_check: Seconds,
    /// Every store replica is up and every buffer empty: delivery is live, and stays so
    /// until an input changes (then [`FlowState::advance`] has little to do).
    calm: bool,
}

impl FlowState {
    pub fn new(
        share: f64,
        buffer: Buffer,
        retention: Seconds,
        freshness: Option<Seconds>,
        n_collectors: usize,
        n_stores: usize,
    ) -> Self {
        assert!(n_stores > 0, "a data flow has a store replica");
        FlowState {
            share,
            buffer,
            retention,
            freshness,
            n_stores,
            t: 0.0,
            collectors: vec![Collector::default(); n_collectors],
            store_up: vec![true; n_stores],
            bufs: vec![Buf::default(); n_collectors * n_stores],
            fresh: true,
            next_check: f64::INFINITY,
            calm: true,
        }
    }

    /// Every history starts with everything up, producing and empty.
    pub fn reset(&mut self) {
        self.t = 0.0;
        for c in &mut self.collectors {
            *c = Collector {
                producing: true,
                ready: true,
                ..Collector::default()
            };
        }
        self.store_up.iter_mut().for_each(|u| *u = true);
        self.fresh = true;
        self.next_check = f64::INFINITY;
        self.calm = true;
        for b in &mut self.bufs {
            b.segs.clear();
            b.len = 0.0;
            b.newest = 0.0;
            b.lost.clear();
        }
    }

    /// Brings the flow from its last time to `t` (nothing changes state in between).
    pub fn advance(&mut self, t: Seconds) {
        self.advance_as::<0, 0>(t);
    }

    /// The flow's shape as the code that runs it is compiled for: `NC` collector and `NS`
    /// store replicas, each as many as the flow has where it is 0. With the shape known
    /// when compiling, the loops over a few replicas become straight-line code; general
    /// code spends most of a change setting up loops that run once or twice (callgrind:
    /// about 560 instructions a change for one collector and one store).
    #[inline(always)]
    fn shape<const NC: usize, const NS: usize>(&self) -> (usize, usize) {
        let nc = if NC == 0 { self.collectors.len() } else { NC };
        let ns = if NS == 0 { self.n_stores } else { NS };
        debug_assert_eq!((nc, ns), (self.collectors.len(), self.n_stores));
        (nc, ns)
    }

    /// Its collector and store replicas: the shape its steps may be compiled for.
    pub fn replicas(&self) -> (usize, usize) {
        (self.collectors.len(), self.n_stores)
    }

    /// [`FlowState::advance`] compiled for the shape `(NC, NS)`.
    #[inline(always)]
    pub fn advance_as<const NC: usize, const NS: usize>(&mut self, t: Seconds) {
        let (nc, n) = self.shape::<NC, NS>();
        let dt = t - self.t;
        if dt <= 0.0 {
            return;
        }
        let t_prev = self.t;
        self.t = t;
        let share = self.share;
        if self.calm {
            // Every store replica up, every buffer empty: delivery is live, and stays so.
            for (c, col) in self.collectors[..nc].iter_mut().enumerate() {
                if !col.producing {
                    continue;
                }
                let amount = share * dt;
                col.produced += amount;
                if col.ready {
                    col.collected += amount;
                    for buf in &mut self.bufs[c * n..(c + 1) * n] {
                        buf.newest = t;
                    }
                } else {
                    col.missed += amount;
                }
            }
            return;
        }
        let FlowState {
            buffer,
            collectors,
            store_up,
            bufs,
            ..
        } = self;
        let (collectors, store_up, bufs) =
            (&mut collectors[..nc], &store_up[..n], &mut bufs[..nc * n]);
        let (limit, drain_rate) = (buffer.limit, buffer.drain_rate);
        let mut calm = store_up.iter().all(|&up| up);
        // Collector by collector, its row of buffers (one per store replica).
        for (c, col) in collectors.iter_mut().enumerate() {
            let inflow = if col.producing {
                let amount = share * dt;
                col.produced += amount;
                if col.ready {
                    let k0 = col.collected;
                    col.collected += amount;
                    Some(Seg {
                        k0,
                        k1: col.collected,
                        t0: t_prev,
                        rate: share,
                    })
                } else {
                    col.missed += amount;
                    None
                }
            } else {
                None
            };
            for s in 0..n {
                let (buf, up) = (&mut bufs[c * n + s], store_up[s]);
                if up && buf.len == 0.0 {
                    // Live: delivered as collected.
                    if inflow.is_some() {
                        buf.newest = t;
                    }
                    continue;
                }
                if !up {
                    if let Some(seg) = inflow {
                        buf.push(seg);
                    }
                    buf.drop_overflow(limit);
                    calm = false;
                    continue;
                }
                match drain_rate {
                    None => {
                        if let Some(seg) = inflow {
                            buf.push(seg);
                        }
                        buf.flush();
                    }
                    Some(d) => {
                        let backlog = buf.len;
                        if let Some(seg) = inflow {
                            buf.push(seg);
                        }
                        let in_rate = if inflow.is_some() { share } else { 0.0 };
                        // Empty by t (with a relative tolerance, so that a drain
                        // scheduled to end now does end now whatever the rate's scale).
                        if backlog <= (d - in_rate) * dt * (1.0 + 1e-9) {
                            buf.flush();
                        } else if let Some(time) = buf.pop_front(d * dt, false) {
                            buf.newest = buf.newest.max(time);
                        }
                    }
                }
                if let Some(seg) = inflow
                    && buf.len == 0.0
                {
                    buf.newest = buf.newest.max(seg.time_at(seg.k1));
                }
                calm &= buf.len == 0.0;
            }
        }
        self.calm = calm;
    }

    /// Whether [`FlowState::sync`] with these inputs would leave everything as it is: then
    /// the flow need not be brought to the present (it is linear until its inputs change).
    pub fn same_inputs(
        &self,
        collector_ready: impl Fn(usize) -> bool,
        producing: impl Fn(usize) -> bool,
        store_ready: impl Fn(usize) -> bool,
    ) -> bool {
        self.same_inputs_as::<0, 0>(collector_ready, producing, store_ready)
    }

    /// [`FlowState::same_inputs`] compiled for the shape `(NC, NS)`.
    #[inline(always)]
    pub fn same_inputs_as<const NC: usize, const NS: usize>(
        &self,
        collector_ready: impl Fn(usize) -> bool,
        producing: impl Fn(usize) -> bool,
        store_ready: impl Fn(usize) -> bool,
    ) -> bool {
        let (nc, ns) = self.shape::<NC, NS>();
        self.collectors[..nc]
            .iter()
            .enumerate()
            .all(|(c, col)| col.ready == collector_ready(c) && col.producing == producing(c))
            && self.store_up[..ns]
                .iter()
                .enumerate()
                .all(|(s, &up)| up == store_ready(s))
    }

    /// Freshness as of the last [`FlowState::sync`] (see [`FlowState::any_fresh`]).
    pub fn fresh(&self) -> bool {
        self.fresh
    }

    /// Metrics held in all buffers at `t` (not before the flow's time), the flow left as
    /// it is.
    pub fn buffered_at(&self, t: Seconds) -> f64 {
        if t <= self.t {
            return self.buffered();
        }
        let mut ahead = self.clone();
        ahead.advance(t);
        ahead.buffered()
    }

    /// Applies state changes at the current time: which collector replicas are ready and
    /// producing, and which store replicas are ready. Freshness and the next check are then
    /// [`FlowState::fresh`] and [`FlowState::next_fresh_check`].
    pub fn sync(
        &mut self,
        collector_ready: impl Fn(usize) -> bool,
        producing: impl Fn(usize) -> bool,
        store_ready: impl Fn(usize) -> bool,
    ) {
        self.sync_as::<0, 0>(collector_ready, producing, store_ready);
    }

    /// [`FlowState::sync`] compiled for the shape `(NC, NS)`.
    #[inline(always)]
    pub fn sync_as<const NC: usize, const NS: usize>(
        &mut self,
        collector_ready: impl Fn(usize) -> bool,
        producing: impl Fn(usize) -> bool,
        store_ready: impl Fn(usize) -> bool,
    ) {
        let (nc, n) = self.shape::<NC, NS>();
        let t = self.t;
        let FlowState {
            share,
            buffer,
            retention,
            collectors,
            store_up,
            bufs,
            ..
        } = self;
        let (collectors, store_up, bufs) = (
            &mut collectors[..nc],
            &mut store_up[..n],
            &mut bufs[..nc * n],
        );
        let share = *share;
        for (s, was_up) in store_up.iter_mut().enumerate() {
            let up = store_ready(s);
            if up && !*was_up && buffer.drain_rate.is_none() {
                for c in 0..collectors.len() {
                    bufs[c * n + s].flush();
                }
            }
            *was_up = up;
        }
        for (c, col) in collectors.iter_mut().enumerate() {
            let ready = collector_ready(c);
            let was = col.ready;
            col.producing = producing(c);
            if was == ready {
                continue;
            }
            let row = &mut bufs[c * n..(c + 1) * n];
            if !ready {
                if !buffer.persistent {
                    row.iter_mut().for_each(Buf::lose_all);
                }
                col.missed = 0.0;
            } else {
                let recovered = col.missed.min(share * *retention);
                col.missed = 0.0;
                if recovered > 0.0 {
                    collect_retained(col, row, store_up, *buffer, share, recovered, t);
                }
            }
            col.ready = ready;
        }
        self.calm = store_up.iter().all(|&up| up) && bufs.iter().all(|b| b.len == 0.0);
        (self.fresh, self.next_check) = self.freshness_as::<NC, NS>();
    }

    /// Whether a ready store replica holds data at most `freshness` old from now on (the
    /// state on [t, t + ε), as readability is judged): live delivery is fresh; a draining
    /// backlog is fresh once its front is `freshness` old (it then gains on the clock);
    /// data no longer arriving is fresh while strictly younger than `freshness`.
    pub fn any_fresh(&self) -> bool {
        self.freshness_as::<0, 0>().0
    }

    /// The next time freshness may change if no input changes first, as of the last
    /// [`FlowState::sync`] (`None`: never).
    pub fn next_fresh_check(&self) -> Option<Seconds> {
        self.next_check.is_finite().then_some(self.next_check)
    }

    /// [`FlowState::any_fresh`] now, and the next time it may change if no input changes
    /// first (∞: never), in one pass over the buffers.
    ///
    /// Freshness that lasts until an input changes needs no check: a live pair stays live,
    /// and a fresh backlog of a collecting replica drained faster than it was produced
    /// stays fresh (its front's production time gains on the clock until it is empty, and
    /// then the pair is live).
    #[inline(always)]
    fn freshness_as<const NC: usize, const NS: usize>(&self) -> (bool, Seconds) {
        let Some(f) = self.freshness else {
            return (true, f64::INFINITY);
        };
        let (nc, n) = self.shape::<NC, NS>();
        let (collectors, store_up, bufs) = (
            &self.collectors[..nc],
            &self.store_up[..n],
            &self.bufs[..nc * n],
        );
        let collecting = |col: &Collector| col.ready && col.producing;
        if self.calm && collectors.iter().any(collecting) {
            // Delivered live: fresh until an input changes.
            return (true, f64::INFINITY);
        }
        let t = self.t;
        let (mut fresh, mut next) = (false, f64::INFINITY);
        let mut consider = |at: Seconds| {
            if at > t + TIME_EPS && at < next {
                next = at;
            }
        };
        for s in (0..n).filter(|&s| store_up[s]) {
            // Collector by collector, the buffer it fills for this store replica.
            let pairs = || {
                collectors
                    .iter()
                    .enumerate()
                    .map(move |(c, col)| (col, &bufs[c * n + s]))
            };
            if pairs().any(|(col, buf)| collecting(col) && buf.len == 0.0) {
                // Delivered live: fresh until an input changes.
                return (true, f64::INFINITY);
            }
            for (col, buf) in pairs() {
                // A draining backlog delivers its front from now on: the production time
                // of its head (it may be younger than the newest delivered, when older
                // metrics were dropped or lost with the collector).
                let head = buf.segs.front().filter(|_| buf.draining());
                let pair_fresh = match (self.buffer.drain_rate, head) {
                    (Some(_), Some(head)) => buf.newest.max(head.t0) + f >= t - TIME_EPS,
                    _ => buf.newest + f > t + TIME_EPS,
                };
                fresh |= pair_fresh;
                // Data no longer arriving goes stale `f` after its newest metric.
                consider(buf.newest + f);
                let (Some(d), Some(head)) = (self.buffer.drain_rate, head) else {
                    continue;
                };
                let speed = d / head.rate;
                let collecting = collecting(col);
                if pair_fresh && speed > 1.0 && collecting {
                    // Fresh until an input changes: the front gains on the clock (every
                    // segment has the share's rate) until the backlog is empty, and then
                    // the pair is live.
                    return (true, f64::INFINITY);
                }
                let in_rate = if collecting { self.share } else { 0.0 };
                // The backlog is empty at (then the pair is live or its data ages), and
                // its head segment delivered at (the next one may be younger); a drain
                // within this instant's rounding is looked at just after it.
                let soon = t + 2.0 * TIME_EPS;
                if d > in_rate {
                    consider((t + buf.len / (d - in_rate)).max(soon));
                }
                let end_of_head = (t + head.len() / d).max(soon);
                consider(end_of_head);
                // The front's production time is head.t0 + (τ − t)·d/rate: it reaches
                // τ − f at τ below, catching up (fresh from then) when faster than the
                // clock, falling behind (stale from then, with the tolerance of an
                // instant, and never at this one) when slower.
                if speed > 1.0 || (speed < 1.0 && pair_fresh) {
                    let tau = if speed > 1.0 {
                        (t * speed - head.t0 - f) / (speed - 1.0)
                    } else {
                        ((t * speed - head.t0 - f - TIME_EPS) / (speed - 1.0)).max(soon)
                    };
                    consider(tau.min(end_of_head));
                }
            }
        }
        (fresh, next)
    }

    /// Metrics held in all buffers now.
    pub fn buffered(&self) -> f64 {
        self.bufs.iter().map(|b| b.len).sum()
    }

    /// Produced and lost metrics of the history (call after advancing to the horizon).
    pub fn totals(&self) -> (f64, f64) {
        let mut produced = 0.0;
        let mut lost = 0.0;
        let mut lists: Vec<&[(f64, f64)]> = Vec::with_capacity(self.n_stores);
        for (c, col) in self.collectors.iter().enumerate() {
            produced += col.produced;
            lost += col.produced - col.collected;
            lists.clear();
            lists.extend(
                (0..self.n_stores).map(|s| self.bufs[c * self.n_stores + s].lost.as_slice()),
            );
            lost += intersection_measure(&lists);
        }
        (produced, lost.max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intersections_of_interval_lists() {
        let a: &[(f64, f64)] = &[(0.0, 10.0), (20.0, 30.0)];
        let b: &[(f64, f64)] = &[(5.0, 25.0)];
        assert_eq!(intersection_measure(&[a]), 20.0);
        assert_eq!(intersection_measure(&[a, b]), 10.0);
        assert_eq!(intersection_measure(&[a, b, &[(0.0, 6.0)]]), 1.0);
    }

    fn flow(limit: f64, drain: Option<f64>) -> FlowState {
        let mut f = FlowState::new(
            2.0,
            Buffer {
                limit,
                persistent: false,
                drain_rate: drain,
            },
            0.0,
            Some(60.0),
            1,
            1,
        );
        f.reset();
        f
    }

    #[test]
    fn a_store_outage_longer_than_the_buffer_loses_the_oldest() {
        // 2 metrics/s, limit 100, store down 100 s: 200 buffered, the oldest 100 lost.
        let mut f = flow(100.0, None);
        f.advance(10.0);
        f.sync(|_| true, |_| true, |_| false);
        f.advance(110.0);
        f.sync(|_| true, |_| true, |_| true);
        f.advance(200.0);
        assert_eq!(f.totals(), (400.0, 100.0));
        // The oldest were dropped: the store now holds data up to the present.
        assert!(f.any_fresh());
    }

    #[test]
    fn a_drain_returns_freshness_only_when_it_reaches_recent_data() {
        // 2 metrics/s; store down from 0 to 100 s (200 buffered); drain 4/s: the front's
        // production time advances 2 s per second: at τ it is 2(τ − 100); fresh (60 s)
        // when 2(τ − 100) ≥ τ − 60, τ = 140. Empty at 100 + 200/(4 − 2) = 200.
        let mut f = flow(1e9, Some(4.0));
        f.sync(|_| true, |_| true, |_| false);
        f.advance(100.0);
        f.sync(|_| true, |_| true, |_| true);
        assert!(!f.any_fresh());
        let next = f.next_fresh_check().unwrap();
        assert!((next - 140.0).abs() < 1e-9, "{next}");
        f.advance(139.0);
        assert!(!f.any_fresh());
        f.advance(140.5);
        assert!(f.any_fresh());
        f.advance(300.0);
        assert_eq!(f.totals(), (600.0, 0.0));
    }

    /// The simulator brings the flow to the present only when its inputs change (and at
    /// freshness checks): between, the flow is linear, so advancing it in one step or in
    /// many must give the same state, to rounding.
    #[test]
    fn advancing_in_one_step_or_many_between_changes_agrees() {
        // Two collectors, two stores; the inputs change at these times.
        let changes: [(f64, [bool; 2], [bool; 2]); 6] = [
            (50.0, [true, true], [false, true]),
            (400.0, [false, true], [false, true]),
            (430.0, [true, true], [false, false]),
            (900.0, [true, true], [true, false]),
            (950.0, [true, false], [true, true]),
            (1000.0, [true, true], [true, true]),
        ];
        let run = |steps: usize| {
            let mut f = FlowState::new(
                0.7,
                Buffer {
                    limit: 300.0,
                    persistent: false,
                    drain_rate: Some(3.0),
                },
                20.0,
                Some(60.0),
                2,
                2,
            );
            f.reset();
            let mut t = 0.0;
            let mut fresh = vec![];
            for &(at, cols, stores) in &changes {
                for k in 1..steps {
                    f.advance(t + (at - t) * k as f64 / steps as f64);
                }
                f.advance(at);
                assert!(!f.same_inputs(|c| cols[c], |_| true, |s| stores[s]));
                f.sync(|c| cols[c], |_| true, |s| stores[s]);
                assert!(f.same_inputs(|c| cols[c], |_| true, |s| stores[s]));
                fresh.push((f.fresh(), f.next_fresh_check()));
                t = at;
            }
            f.advance(2000.0);
            (f.totals(), f.buffered(), fresh)
        };
        let (one, many) = (run(1), run(17));
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(1.0);
        assert!(
            close(one.0.0, many.0.0) && close(one.0.1, many.0.1),
            "{one:?} {many:?}"
        );
        assert!(one.0.1 > 0.0, "the outages lose metrics: {one:?}");
        assert!(close(one.1, many.1));
        for (a, b) in one.2.iter().zip(&many.2) {
            assert_eq!(a.0, b.0);
            assert_eq!(a.1.is_some(), b.1.is_some());
            if let (Some(x), Some(y)) = (a.1, b.1) {
                assert!(close(x, y), "{x} {y}");
            }
        }
    }

    /// The buffer and retention of the random tests' case `case`: drains slower and faster
    /// than production and instant delivery, small and large buffers, persistent or not,
    /// with and without retention, in turn.
    fn random_case(case: usize) -> (Buffer, Seconds) {
        let buffer = Buffer {
            limit: [50.0, 1e9][case / 3 % 2],
            persistent: (case / 6).is_multiple_of(2),
            drain_rate: [None, Some(0.5), Some(3.0)][case % 3],
        };
        (buffer, [0.0, 20.0][case / 12 % 2])
    }

    /// A flow run by the code compiled for its shape (`*_as::<NC, NS>`, as the simulator
    /// runs flows of up to three collector and three store replicas) is the general code's
    /// flow to the bit: random inputs over drains, instant delivery, small and large
    /// buffers, with and without retention; every field compared after every step.
    #[test]
    fn a_flow_compiled_for_its_shape_is_the_general_one_to_the_bit() {
        fn run<const NC: usize, const NS: usize>(case: usize) {
            use rand::{RngExt, SeedableRng};
            let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(case as u64);
            let (buffer, retention) = random_case(case);
            let mut general = FlowState::new(0.7, buffer, retention, Some(60.0), NC, NS);
            general.reset();
            let mut shaped = general.clone();
            let mut t = 0.0;
            for step in 0..60 {
                let cols: Vec<bool> = (0..NC).map(|_| rng.random_bool(0.7)).collect();
                let prod: Vec<bool> = (0..NC).map(|_| rng.random_bool(0.8)).collect();
                let stores: Vec<bool> = (0..NS).map(|_| rng.random_bool(0.7)).collect();
                let inputs = (|c: usize| cols[c], |c: usize| prod[c], |s: usize| stores[s]);
                assert_eq!(
                    general.same_inputs(inputs.0, inputs.1, inputs.2),
                    shaped.same_inputs_as::<NC, NS>(inputs.0, inputs.1, inputs.2)
                );
                general.advance(t);
                general.sync(inputs.0, inputs.1, inputs.2);
                shaped.advance_as::<NC, NS>(t);
                shaped.sync_as::<NC, NS>(inputs.0, inputs.1, inputs.2);
                // Debug's rendering of f64 is exact: equal text, equal bits.
                let (a, b) = (format!("{general:?}"), format!("{shaped:?}"));
                assert_eq!(a, b, "{NC}x{NS}, case {case}, step {step} at {t}");
                t = match general.next_fresh_check() {
                    Some(c) if rng.random_bool(0.5) => c,
                    _ => t + f64::from(rng.random_range(1..400u32)),
                };
            }
            assert_eq!(general.totals(), shaped.totals());
        }
        for case in 0..24 {
            run::<1, 1>(case);
            run::<1, 2>(case);
            run::<2, 1>(case);
            run::<2, 2>(case);
            run::<3, 2>(case);
            run::<3, 3>(case);
        }
    }

    /// The simulator judges freshness from the last sync and syncs only when an input
    /// changes or at [`FlowState::next_fresh_check`]: so between those, the flow brought
    /// to any time must be exactly as fresh as the last sync said. Random inputs over
    /// drains slower and faster than production, instant delivery, small and large
    /// buffers, with and without retention.
    #[test]
    fn freshness_changes_only_at_an_input_change_or_a_check() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
        let (mut probes, mut checks, mut flips) = (0, 0, 0);
        for case in 0..120 {
            let (buffer, retention) = random_case(case);
            let mut f = FlowState::new(0.7, buffer, retention, Some(60.0), 2, 2);
            f.reset();
            let mut t = 0.0;
            for _ in 0..40 {
                let inputs: [bool; 6] = std::array::from_fn(|_| rng.random_bool(0.7));
                let (cols, prod, stores) = (&inputs[0..2], &inputs[2..4], &inputs[4..6]);
                f.advance(t);
                f.sync(|c| cols[c], |c| prod[c], |s| stores[s]);
                let next_change = t + f64::from(rng.random_range(1..400u32));
                loop {
                    let (fresh, check) = (f.fresh(), f.next_fresh_check());
                    let until = check.unwrap_or(f64::INFINITY).min(next_change);
                    // Away from the ends by more than an instant's rounding (TIME_EPS).
                    let (from, to) = (t + 10.0 * TIME_EPS, until - 10.0 * TIME_EPS);
                    for k in (0..=8).filter(|_| to > from) {
                        let at = from + (to - from) * f64::from(k) / 8.0;
                        let mut ahead = f.clone();
                        ahead.advance(at);
                        assert_eq!(
                            ahead.any_fresh(),
                            fresh,
                            "case {case}, {t} -> {at}: {f:?} {ahead:?}"
                        );
                        probes += 1;
                    }
                    match check {
                        Some(c) if c < next_change => {
                            f.advance(c);
                            f.sync(|c| cols[c], |c| prod[c], |s| stores[s]);
                            checks += 1;
                            flips += u32::from(f.fresh() != fresh);
                            t = c;
                        }
                        _ => break,
                    }
                }
                t = next_change;
            }
        }
        assert!(
            probes > 10_000 && checks > 100 && flips > 50,
            "{probes} {checks} {flips}"
        );
    }

    /// A backlog so small that it drains within the rounding of an instant (here what
    /// retention recovers, drained at a huge rate) is looked at again just after: the
    /// pair is live then, and fresh, instead of stale until the next change.
    #[test]
    fn a_backlog_drained_within_an_instant_is_checked_just_after_it() {
        let mut f = FlowState::new(
            2.0,
            Buffer {
                limit: 1e9,
                persistent: false,
                drain_rate: Some(1e9),
            },
            20.0,
            Some(10.0),
            1,
            1,
        );
        f.reset();
        f.sync(|_| false, |_| true, |_| true);
        f.advance(100.0);
        // Back: the last 20 s (40 metrics, 20 s old) are collected and drained at once.
        f.sync(|_| true, |_| true, |_| true);
        assert!(!f.fresh(), "the front is 20 s old, the freshness 10 s");
        let check = f.next_fresh_check().expect("a check just after the drain");
        assert!(check > 100.0 && check < 100.0 + 1e-5, "{check}");
        f.advance(check);
        f.sync(|_| true, |_| true, |_| true);
        assert!(f.fresh() && f.next_fresh_check().is_none());
    }

    #[test]
    fn a_collector_restart_loses_its_buffer_and_retention_recovers_the_recent_gap() {
        let mut f = FlowState::new(
            1.0,
            Buffer {
                limit: 1e9,
                persistent: false,
                drain_rate: None,
            },
            30.0,
            None,
            1,
            1,
        );
        f.reset();
        // Store down 0..50 (50 buffered); collector down 40..100: buffer of 40 lost;
        // 60 s missed, the last 30 recovered. Lost: 40 + 30.
        f.sync(|_| true, |_| true, |_| false);
        f.advance(40.0);
        f.sync(|_| false, |_| true, |_| false);
        f.advance(50.0);
        f.sync(|_| false, |_| true, |_| true);
        f.advance(100.0);
        f.sync(|_| true, |_| true, |_| true);
        f.advance(120.0);
        assert_eq!(f.totals(), (120.0, 70.0));
    }
}
