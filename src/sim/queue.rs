//! The future-event list of one history.
//!
//! A binary min-heap ordered by (time, sequence number): events at the same instant pop in the
//! order they were scheduled, so a history is a deterministic function of its random
//! stream. Events are only ever scheduled at `now + delay` with `delay >= 0`, so nothing
//! can be scheduled into the past. Cancelling is done by the owner with generation
//! counters (an event carries the generation its target had when it was scheduled; a
//! stale one is skipped when popped), never by searching the heap; the owner takes the
//! stale ones out in bulk when the queue has grown (`State::clear_cancelled`). The heap
//! keeps its allocation between histories: after warm-up, scheduling does not allocate.

/// What happens. The meaning of `target` and `aux` depends on the kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum EventKind {
    /// Replica `target` fails by failure mode `aux`.
    Fail,
    /// The failure of replica `target` is noticed (liveness probe or a detection draw).
    Detected,
    /// The back-off delay of replica `target` is over.
    BackoffEnd,
    /// Replica `target` finished restarting and is ready.
    RestartDone,
    /// Node `target` fails.
    NodeFail,
    /// Node `target` is back.
    NodeRecover,
    /// Deployment replica `target` on a failed node is evicted and re-created elsewhere.
    Evict,
    /// A person force-deletes StatefulSet replica `target` on a failed node.
    OperatorResponse,
    /// Stage `target` begins a `kubectl rollout restart`.
    MaintenanceStart,
    /// The surge Pod replacing replica `target` is ready (generation: its surge counter).
    SurgeReady,
    /// Replica `target`, deleted by a rollout or evicted by a drain, has stopped.
    ShutdownDone,
    /// The volume of StatefulSet replica `target`, force-deleted off a dead node, is
    /// detached from it (`detach_wait` is over): its new Pod can start.
    Attach,
    /// An `[upgrades]` wave is due.
    UpgradeWave,
    /// The drain of node `target` has waited `pdb_timeout`: what is left is evicted.
    DrainForce,
    /// A Pod evicted from node `target` (being drained) has stopped.
    PodStopped,
    /// Node `target`, drained and down for its upgrade, is ready again.
    NodeUpgraded,
    /// The data flow's freshness may change now.
    FreshCheck,
    /// The reader's cache expires.
    CacheExpire,
}

/// 24 bytes: the heap moves events around, so they are kept small.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    /// The order key, time then sequence number, as one 96-bit integer stored ready to
    /// compare: `key_hi` the time's upper 32 bits, `key_lo` its lower 32 bits above the
    /// sequence number. Times are never negative, so their bit patterns order like the
    /// numbers; a comparison of two events is then two loads and a compare and subtract
    /// with borrow, with nothing to shift or combine on the heap's chain of sifts.
    key_lo: u64,
    key_hi: u32,
    pub target: u32,
    pub generation: u32,
    pub aux: u16,
    pub kind: EventKind,
}

impl Event {
    #[inline(always)]
    fn new(time: f64, seq: u32, target: u32, generation: u32, aux: u16, kind: EventKind) -> Self {
        let mut e = Event {
            key_lo: 0,
            key_hi: 0,
            target,
            generation,
            aux,
            kind,
        };
        e.set_order(order_of(time, seq));
        e
    }

    /// When it happens (never negative).
    #[inline(always)]
    pub fn time(&self) -> f64 {
        // The order key's time bits, from the two fields: taken from the 128-bit key,
        // the event loop compiled to longer code.
        f64::from_bits((u64::from(self.key_hi) << 32) | (self.key_lo >> 32))
    }

    /// Moves it to `time`, its sequence number (its place among events at one instant)
    /// kept.
    pub fn set_time(&mut self, time: f64) {
        self.set_order(order_of(time, self.order() as u32));
    }

    /// Whether it happens at `time` (not negative) or later.
    #[inline(always)]
    pub fn at_or_after(&self, time: f64) -> bool {
        debug_assert!(time >= 0.0);
        self.order() >= order_of(time, 0)
    }

    /// Whether this event comes before `other`: earlier, or at the same time and scheduled
    /// first.
    #[inline(always)]
    fn before(&self, other: &Event) -> bool {
        self.order() < other.order()
    }

    #[inline(always)]
    fn order(&self) -> u128 {
        (u128::from(self.key_hi) << 64) | u128::from(self.key_lo)
    }

    #[inline(always)]
    fn set_order(&mut self, order: u128) {
        (self.key_lo, self.key_hi) = (order as u64, (order >> 64) as u32);
    }
}

/// The order key of an event at `time` (never negative, so its bit pattern orders like
/// the number) scheduled `seq`-th: the time's bits above the sequence number.
#[inline(always)]
fn order_of(time: f64, seq: u32) -> u128 {
    (u128::from(time.to_bits()) << 32) | u128::from(seq)
}

/// A binary min-heap of events by [`Event::before`]. Hand-written rather than
/// `std::collections::BinaryHeap` for one operation: [`Heap::replace_top`] sifts the new
/// event down from the root while holding it in registers (a hole moves instead), where
/// `BinaryHeap::peek_mut` writes it to the root and reads it straight back, a read the
/// processor cannot serve from its store buffer (it stalls on every event).
#[derive(Clone, Debug, Default)]
struct Heap {
    v: Vec<Event>,
}

impl Heap {
    fn with_capacity(n: usize) -> Self {
        Heap {
            v: Vec::with_capacity(n),
        }
    }

    #[inline(always)]
    fn peek(&self) -> Option<&Event> {
        self.v.first()
    }

    #[inline(always)]
    fn push(&mut self, e: Event) {
        self.v.push(e);
        self.sift_up(self.v.len() - 1, e);
    }

    #[inline(always)]
    fn pop(&mut self) -> Option<Event> {
        let last = self.v.pop()?;
        if self.v.is_empty() {
            return Some(last);
        }
        let top = self.v[0];
        self.sift_down(0, last);
        Some(top)
    }

    /// Removes the earliest event and adds `e`, in one sift.
    #[inline(always)]
    fn replace_top(&mut self, e: Event) {
        debug_assert!(!self.v.is_empty());
        self.sift_down(0, e);
    }

    /// Puts `e` at `hole` or above it.
    #[inline(always)]
    fn sift_up(&mut self, mut hole: usize, e: Event) {
        while hole > 0 {
            let parent = (hole - 1) / 2;
            if !e.before(&self.v[parent]) {
                break;
            }
            self.v[hole] = self.v[parent];
            hole = parent;
        }
        self.v[hole] = e;
    }

    /// Puts `e` at `hole` or below it.
    #[inline(always)]
    fn sift_down(&mut self, mut hole: usize, e: Event) {
        let n = self.v.len();
        loop {
            let mut child = 2 * hole + 1;
            if child >= n {
                break;
            }
            // The earlier of the two children, by arithmetic rather than a branch: which
            // one it is, is what a history is random about.
            if child + 1 < n {
                child += usize::from(self.v[child + 1].before(&self.v[child]));
            }
            if !self.v[child].before(&e) {
                break;
            }
            self.v[hole] = self.v[child];
            hole = child;
        }
        self.v[hole] = e;
    }

    fn from_vec(v: Vec<Event>) -> Self {
        let mut h = Heap {
            v: Vec::with_capacity(v.len()),
        };
        for e in v {
            h.push(e);
        }
        h
    }
}

/// The event being handled stays at the top of the heap until the first event it
/// schedules replaces it with a single sift-down (or [`EventQueue::commit`] pops it): the
/// common case of an event begetting the next one costs one heap operation instead of a
/// pop and a push. Its copy was taken by [`EventQueue::begin`], and nothing reads the heap
/// while an event is handled.
#[derive(Debug, Default)]
pub struct EventQueue {
    heap: Heap,
    /// Between [`EventQueue::begin`] and [`EventQueue::commit`].
    handling: bool,
    /// The top of the heap is still the event being handled (nothing scheduled yet).
    top_is_handled: bool,
    next_seq: u32,
    now: f64,
}

impl Clone for EventQueue {
    fn clone(&self) -> Self {
        let mut q = EventQueue::default();
        q.clone_from(self);
        q
    }

    /// Reuses this queue's allocations.
    fn clone_from(&mut self, source: &Self) {
        self.heap.v.clone_from(&source.heap.v);
        self.handling = source.handling;
        self.top_is_handled = source.top_is_handled;
        self.next_seq = source.next_seq;
        self.now = source.now;
    }
}

impl EventQueue {
    pub fn with_capacity(n: usize) -> Self {
        EventQueue {
            heap: Heap::with_capacity(n),
            handling: false,
            top_is_handled: false,
            next_seq: 0,
            now: 0.0,
        }
    }

    /// Empties the queue and sets the clock to 0 (the allocation is kept).
    pub fn reset(&mut self) {
        self.heap.v.clear();
        self.handling = false;
        self.top_is_handled = false;
        self.next_seq = 0;
        self.now = 0.0;
    }

    /// The time of the last event popped.
    #[inline]
    pub fn now(&self) -> f64 {
        self.now
    }

    /// Schedules an event `delay` seconds from now; `delay` must not be negative.
    #[inline(always)]
    pub fn schedule(
        &mut self,
        delay: f64,
        kind: EventKind,
        target: u32,
        generation: u32,
        aux: u32,
    ) {
        debug_assert!(
            delay >= 0.0,
            "scheduling {kind:?} into the past ({delay} s)"
        );
        self.push(self.now + delay, kind, target, generation, aux);
    }

    /// Schedules an event at absolute time `time` (not before now).
    #[inline]
    pub fn schedule_at(
        &mut self,
        time: f64,
        kind: EventKind,
        target: u32,
        generation: u32,
        aux: u32,
    ) {
        debug_assert!(
            time >= self.now,
            "scheduling {kind:?} into the past ({time} < {})",
            self.now
        );
        self.push(time.max(self.now), kind, target, generation, aux);
    }

    #[inline(always)]
    fn push(&mut self, time: f64, kind: EventKind, target: u32, generation: u32, aux: u32) {
        debug_assert!(time >= 0.0 && aux <= u32::from(u16::MAX));
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let e = Event::new(time, seq, target, generation, aux as u16, kind);
        if self.top_is_handled {
            // The first event scheduled while one is handled takes its place: one sift,
            // with the new event still in registers.
            self.top_is_handled = false;
            self.heap.replace_top(e);
        } else {
            self.heap.push(e);
        }
    }

    /// The earliest event, left in place while it is handled; call [`EventQueue::commit`]
    /// when done. Advances the clock to it.
    #[inline]
    pub fn begin(&mut self) -> Option<Event> {
        debug_assert!(!self.handling, "commit the last event first");
        let e = *self.heap.peek()?;
        self.handling = true;
        self.top_is_handled = true;
        self.now = e.time();
        Some(e)
    }

    /// Removes the event being handled and adds what it scheduled.
    #[inline]
    pub fn commit(&mut self) {
        if !self.handling {
            return;
        }
        self.handling = false;
        if self.top_is_handled {
            self.top_is_handled = false;
            self.heap.pop();
        }
    }

    /// Pops the earliest event and advances the clock to it.
    #[inline]
    pub fn pop(&mut self) -> Option<Event> {
        self.commit();
        let e = self.heap.pop()?;
        self.now = e.time();
        Some(e)
    }

    /// Every pending event (stale ones included), emptying the queue; give them back
    /// with [`EventQueue::restore_events`]. Only between events.
    pub fn take_events(&mut self) -> Vec<Event> {
        debug_assert!(!self.handling, "commit the event being handled first");
        std::mem::take(&mut self.heap.v)
    }

    /// Puts events back (their times may have changed, but not to before now).
    pub fn restore_events(&mut self, events: Vec<Event>) {
        debug_assert!(events.iter().all(|e| e.time() >= self.now));
        self.heap = Heap::from_vec(events);
    }

    /// Whether the next event, if any, happens after `ev`'s instant (at a later time, not
    /// just later in the same instant): from the order keys, with `ev`'s sequence number
    /// bits all set, so the time is not taken apart.
    #[inline(always)]
    pub fn next_after_instant_of(&self, ev: &Event) -> bool {
        debug_assert!(!self.handling, "commit the event being handled first");
        let instant_end = ev.order() | u128::from(u32::MAX);
        self.heap
            .peek()
            .is_none_or(|next| next.order() > instant_end)
    }

    pub fn len(&self) -> usize {
        self.heap.v.len() - usize::from(self.top_is_handled)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;
    use std::collections::BTreeMap;

    #[test]
    fn equal_times_pop_in_insertion_order() {
        let mut q = EventQueue::with_capacity(4);
        for i in 0..4 {
            q.schedule(5.0, EventKind::Fail, i, 0, 0);
        }
        let order: Vec<u32> = std::iter::from_fn(|| q.pop()).map(|e| e.target).collect();
        assert_eq!(order, vec![0, 1, 2, 3]);
    }

    /// The key's questions answered as the times answer them: an instant's end (ties on a
    /// coarse grid, so that many events share one), a time reached, a time moved with the
    /// event keeping its place among its instant's.
    #[test]
    fn order_keys_answer_as_the_times_do() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
        let mut q = EventQueue::with_capacity(16);
        for i in 0..8 {
            q.schedule(
                f64::from(rng.random_range(0..4u32)),
                EventKind::Fail,
                i,
                0,
                0,
            );
        }
        for step in 0..5_000u32 {
            let e = q.begin().unwrap();
            let t = e.time();
            for probe in [t - 1.0, t, t + 0.5, t + 1.0] {
                if probe >= 0.0 {
                    assert_eq!(e.at_or_after(probe), t >= probe);
                }
            }
            q.schedule(
                f64::from(rng.random_range(0..4u32)),
                EventKind::Fail,
                step,
                0,
                0,
            );
            q.commit();
            let next = q.heap.peek().unwrap().time();
            assert_eq!(q.next_after_instant_of(&e), next > t);
            let mut moved = e;
            moved.set_time(t + 2.5);
            assert_eq!(moved.time(), t + 2.5);
            assert_eq!(
                moved.order() & u128::from(u32::MAX),
                e.order() & u128::from(u32::MAX)
            );
        }
    }

    /// Random schedules and pops against a `BTreeMap` keyed by (time, seq), fixed seed.
    #[test]
    fn matches_a_btreemap_shadow() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(42);
        let mut q = EventQueue::with_capacity(16);
        let mut shadow: BTreeMap<(u64, u64), u32> = BTreeMap::new();
        let mut seq = 0u64;
        for step in 0..20_000u32 {
            if rng.random_bool(0.55) || shadow.is_empty() {
                // Delays on a coarse grid so that ties are common.
                let delay = f64::from(rng.random_range(0..8u32));
                let time = q.now() + delay;
                q.schedule(delay, EventKind::Fail, step, 0, 0);
                shadow.insert((time.to_bits(), seq), step);
                seq += 1;
            } else {
                let e = q.pop().unwrap();
                let (&(t, _), &target) = shadow.iter().next().unwrap();
                shadow.pop_first();
                assert_eq!((e.time().to_bits(), e.target), (t, target));
            }
        }
    }

    /// The simulator's way: `begin`, schedule none to three events while handling one (the
    /// first replaces it in the heap), `commit` — against the same shadow, with the
    /// queue's length checked throughout.
    #[test]
    fn handling_an_event_matches_a_btreemap_shadow() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let mut q = EventQueue::with_capacity(16);
        let mut shadow: BTreeMap<(u64, u64), u32> = BTreeMap::new();
        let mut seq = 0u64;
        let mut schedule = |q: &mut EventQueue, shadow: &mut BTreeMap<_, _>, target: u32| {
            let delay = f64::from(rng.random_range(0..8u32));
            shadow.insert(((q.now() + delay).to_bits(), seq), target);
            seq += 1;
            q.schedule(delay, EventKind::Fail, target, 0, 0);
        };
        for target in 0..8 {
            schedule(&mut q, &mut shadow, target);
        }
        let mut counts = Xoshiro256PlusPlus::seed_from_u64(8);
        for step in 0..30_000u32 {
            let Some(e) = q.begin() else {
                break;
            };
            let (&(t, _), &target) = shadow.iter().next().unwrap();
            shadow.pop_first();
            assert_eq!((e.time().to_bits(), e.target), (t, target));
            // About one new event per handled one, then none: the queue drains.
            let n = if step < 20_000 {
                counts.random_range(0..=2u32)
            } else {
                0
            };
            for k in 0..n {
                schedule(&mut q, &mut shadow, 100 * step + k);
                assert_eq!(q.len(), shadow.len());
            }
            q.commit();
            assert_eq!(q.len(), shadow.len());
            assert_eq!(q.is_empty(), shadow.is_empty());
        }
        assert!(q.is_empty() && shadow.is_empty(), "{} left", q.len());
    }
}
