//! Chapter 8 — the wheel timer.
//!
//! A server with keep-alive needs one timer per client, re-armed every time that client
//! speaks: thousands of timers, nearly all of them cancelled or pushed back before they fire.
//! The course hands this job to a single timer thread, the WheelTimer: a ring of slots, like
//! a clock face, with a hand that moves one slot every tick. A timer due in `d` ticks is
//! dropped into the slot the hand will reach `d` ticks from now; if `d` is longer than one
//! turn of the ring, the timer also records how many full turns (laps) the hand must make
//! first. Each tick the hand moves on and looks only at its new slot: timers with no lap left
//! fire, the others lose a lap.
//!
//! Why schedule, cancel and reschedule are O(1): finding the slot is one modulo. The timers
//! live in a slab, a `Vec` of entries, and a handle is an index into it (plus a generation,
//! so a stale handle misses): one array access, no hashing. Each slot is a `Vec` of items
//! (timers, by slab index and laps, and holes) whose positions never move: a timer that
//! leaves turns its place into a hole, which the slot chains to its other holes and refills
//! before it grows. So a cancel touches its entry and its slot item and nothing else, a
//! schedule one entry (the last one freed, still in cache) and one place in its slot, and no
//! operation depends on how many timers exist; a binary heap or a balanced tree would pay
//! `log n`.
//!
//! Why this layout: with hundreds of thousands of timers the cost of each operation is the
//! cache lines it misses, not its instructions. A `HashMap` by id plus `swap_remove` in the
//! slot would miss three or four lines per cancel (map entry, slot item, the entry of the item
//! that moved into the hole); the slab and the holes miss two. An intrusive doubly linked list
//! through the slab costs about the same; we keep the holes because a tick then walks one
//! contiguous array and touches the slab only for the timers that fire.
//!
//! The ring itself (a slot's holes, placing a timer, taking it out, one turn of the hand) is
//! in the submodule `ring`, which exercise `ex08` swaps for the student's
//! `chapters/ex08_ring.rs`; the slab, the callbacks, the thread and the late-hand rule stay
//! here.
//!
//! What it costs: precision is one tick (a delay is rounded up to whole ticks, at least one),
//! the thread wakes every tick even when nothing is due, and a tick visits every timer of its
//! slot, including those still lapping — so with far more timers than slots, or delays many
//! turns long, the per-tick work grows. Size the ring so that the usual delay fits in one
//! turn (for keep-alive: a 100 ms tick and 512 slots cover 51 s).
//!
//! What changes in Rust:
//! - Callbacks are `Box<dyn FnMut() + Send>` and are never called while the wheel's lock is
//!   held: a tick collects what is due under the lock, releases it, runs the callbacks, and
//!   takes the lock again to re-arm periodic timers. A callback may therefore schedule, cancel
//!   or reschedule on the same wheel, itself included (see [`WheelTimer::cancel`] and
//!   [`WheelTimer::reschedule`] for what that means while it fires).
//! - The thread waits on a `Condvar` with a timeout up to the next tick's deadline, computed
//!   from the wheel's starting `Instant` so ticks do not drift; `stop` wakes it through the
//!   same condvar and joins it. Nothing sleeps or spins, and no thread is cancelled.
//! - A manual wheel ([`WheelTimer::manual`]) has no thread: time moves only when
//!   [`WheelTimer::advance`] is called, which makes tests and the exercise deterministic.
//! - The wheel never panics on its inputs: zero slots become one slot, a zero tick becomes
//!   one millisecond, and enormous delays saturate instead of overflowing.
//!
//! A callback that needs the wheel should hold a `Weak` to it: a strong `Arc` stored inside
//! the wheel keeps the wheel alive forever (until an explicit [`WheelTimer::stop`]).
//!
//! A production server would use its runtime's timer (tokio's is a hierarchical wheel) and
//! would not need a thread of its own for it.

// The exercise's stub of the ring leaves parts of the wheel unused until it is written.
#![cfg_attr(feature = "ex08", allow(dead_code))]

use std::any::Any;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Identifies one scheduled timer; returned by [`WheelTimer::schedule`].
///
/// Inside: the timer's index in the wheel's slab (low 32 bits) and the generation of that
/// entry when the timer moved in (high 32 bits). An entry's generation goes up every time a
/// timer leaves it, and an entry whose generations are used up is never handed out again, so
/// handles are never reused: a stale or forged handle can only miss, never hit another timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimerHandle(u64);

impl TimerHandle {
    /// The handle of no timer, returned by a wheel that cannot keep one (stopped, or full).
    /// Its index, `u32::MAX`, is never given to an entry.
    const DEAD: TimerHandle = TimerHandle(u64::MAX);

    fn new(index: u32, generation: u32) -> TimerHandle {
        TimerHandle(u64::from(generation) << 32 | u64::from(index))
    }

    /// The slab index; a `u32`, so widening it to `usize` loses nothing.
    fn index(self) -> u32 {
        (self.0 & 0xFFFF_FFFF) as u32
    }

    fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

/// What a timer runs when it fires.
type Callback = Box<dyn FnMut() + Send>;

/// The tick used when the caller asks for a zero tick, which would make every delay infinite
/// in ticks and the thread spin.
const MIN_TICK: Duration = Duration::from_millis(1);

/// The ring of slots and its hand: schedule, cancel, tick. Exercise `ex08` swaps this file.
#[cfg_attr(feature = "ex08", path = "../chapters/ex08_ring.rs")]
mod ring;

// ANCHOR: wheel_state
/// Ends a slot's chain of holes; a new slot's `first_hole`.
const NO_HOLE: usize = usize::MAX;

/// One place in a slot's array.
enum SlotItem {
    /// A waiting timer: its index in the slab, and the full turns of the hand it must still
    /// sit out. `laps` lives here, not in [`Entry`], so that a tick walks one contiguous
    /// array to count laps down and touches the slab only for the timers that fire.
    Timer { index: u32, laps: u64 },
    /// A place a timer has left; `next` is the next hole of the same slot (or [`NO_HOLE`]).
    /// Holes are refilled before the array grows, so no item ever moves.
    Hole { next: usize },
}

/// One slot of the ring.
struct Slot {
    /// Its timers, at positions that never change while they wait, and its holes.
    items: Vec<SlotItem>,
    /// The most recent hole: where the next timer goes, or [`NO_HOLE`] to push at the end.
    first_hole: usize,
    /// How many items are timers; at zero the array is emptied, holes and all.
    timers: usize,
}

/// The ring and its hand; knows timers only by their slab index.
struct Ring {
    /// The slots; a timer due in `d` ticks sits `d` slots after the hand, modulo their number.
    slots: Vec<Slot>,
    /// The slot the hand last visited.
    cursor: usize,
}

/// Where a waiting timer is: `ring.slots[slot].items[pos]`. It never changes while the timer
/// waits, which is what makes taking it out O(1) without touching any other timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Place {
    /// The slot: the hand fires the timer (or takes a lap off it) when it gets there.
    slot: usize,
    /// The position in that slot's array: where `cancel` makes the hole.
    pos: usize,
}

/// Where a timer is in its life.
enum State {
    /// At `place` in the ring, waiting for the hand.
    Waiting { place: Place, callback: Callback },
    /// Its callback has been taken out and is running without the lock. `rearm` (in ticks)
    /// says what happens when it returns: periodic timers start with their period, a
    /// reschedule from inside the callback sets it, and `None` means the timer is finished.
    Firing { rearm: Option<u64> },
    /// No timer here; `next` is the next free entry of the slab.
    Free { next: Option<u32> },
}

/// One entry of the slab: a timer, or room for one.
struct Entry {
    /// Goes up each time a timer leaves the entry, so that its old handles miss.
    generation: u32,
    /// Waiting in a slot, firing, or free.
    state: State,
    /// The period in ticks of a periodic timer; `None` for a one-shot.
    period: Option<u64>,
}

/// Everything the lock protects.
struct Wheel {
    /// The ring: each slot holds the timers the hand fires (or un-laps) when it gets there.
    ring: Ring,
    /// The slab: every timer at the index its handle names, so that a handle reaches its
    /// timer with one array access and no hashing.
    timers: Vec<Entry>,
    /// The most recently freed entry: the next timer reuses it while it is still in cache.
    free: Option<u32>,
    /// Entries that hold a timer (waiting or firing).
    live: usize,
    /// Timers in `Firing { rearm: None }`: in the slab, but not pending any more. Counted so
    /// that [`WheelTimer::pending`] stays O(1).
    spent: usize,
    /// Set by `stop`: the thread leaves, nothing new is kept, nothing is re-armed.
    stopped: bool,
    /// Ticks turned since the start.
    turned: u64,
    /// How long ago tick 0 began, for a wheel that knows the time (`None` for a manual wheel,
    /// whose time is its hand). A thread that fell behind (a long callback, a loaded machine)
    /// catches up by turning several ticks at once; a timer scheduled meanwhile must count its
    /// ticks from the real time, not from the late hand, or it would fire early.
    clock: Option<Clock>,
}

/// The time since tick 0 began: `origin.elapsed()` on a started wheel, a test's own clock on
/// [`WheelTimer::manual_with_clock`].
type Clock = Box<dyn Fn() -> Duration + Send>;

/// What a wheel holds in memory, from [`WheelTimer::footprint`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footprint {
    /// Entries of the slab: timers waiting or firing, and free entries kept for reuse.
    pub entries: usize,
    /// Places in the slots' arrays: waiting timers and the holes between them.
    pub places: usize,
}
// ANCHOR_END: wheel_state

/// What the wheel's thread and the handles share.
struct Shared {
    /// The wheel itself. Only our own code runs under this lock (callbacks never do), so it
    /// cannot be poisoned by a user's panic; if it ever were, the data is still consistent
    /// between our statements, and we keep going with `into_inner`.
    wheel: Mutex<Wheel>,
    /// Where the thread waits for its next tick, and how `stop` wakes it early.
    wake: Condvar,
}

/// A hashed timing wheel with its own thread (or driven by hand in deterministic mode).
///
/// `Send + Sync`: share it with `Arc`. Dropping it stops it.
pub struct WheelTimer {
    /// The duration of one tick, after clamping.
    tick: Duration,
    /// The wheel, shared with the thread.
    shared: Arc<Shared>,
    /// The `wheel-timer` thread, until `stop` joins it; `None` for a manual wheel.
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl WheelTimer {
    /// Starts a wheel of `slots` slots turning one slot every `tick`, on a thread named
    /// `wheel-timer`. `slots` of 0 is taken as 1; a zero `tick` as 1 ms.
    ///
    /// # Panics
    /// Only if the operating system refuses to create a thread, as `std::thread::spawn`
    /// does; use [`WheelTimer::try_start`] to get that as an error instead.
    pub fn start(tick: Duration, slots: usize) -> WheelTimer {
        match WheelTimer::try_start(tick, slots) {
            Ok(wheel) => wheel,
            Err(e) => panic!("cannot start the wheel-timer thread: {e}"),
        }
    }

    /// [`WheelTimer::start`], reporting a failure to create the thread.
    ///
    /// # Errors
    /// The operating system's error when it cannot create the `wheel-timer` thread.
    pub fn try_start(tick: Duration, slots: usize) -> io::Result<WheelTimer> {
        let wheel = WheelTimer::manual(tick, slots);
        let origin = Instant::now();
        wheel.shared.lock().clock = Some(Box::new(move || origin.elapsed()));
        let shared = Arc::clone(&wheel.shared);
        let tick = wheel.tick;
        let handle = thread::Builder::new()
            .name("wheel-timer".into())
            .spawn(move || run(&shared, tick, origin))?;
        *lock_ignoring_poison(&wheel.thread) = Some(handle);
        Ok(wheel)
    }

    /// A wheel with no thread: time moves only when [`WheelTimer::advance`] is called.
    /// `slots` of 0 is taken as 1; a zero `tick` as 1 ms.
    pub fn manual(tick: Duration, slots: usize) -> WheelTimer {
        let slots = slots.max(1);
        let tick = tick.max(MIN_TICK);
        let wheel = Wheel {
            ring: Ring::new(slots),
            timers: Vec::new(),
            free: None,
            live: 0,
            spent: 0,
            stopped: false,
            turned: 0,
            clock: None,
        };
        WheelTimer {
            tick,
            shared: Arc::new(Shared {
                wheel: Mutex::new(wheel),
                wake: Condvar::new(),
            }),
            thread: Mutex::new(None),
        }
    }

    /// A manual wheel that also knows the time: `elapsed` says how long ago tick 0 began, as
    /// a started wheel's thread measures it. When [`WheelTimer::advance`] keeps the hand behind
    /// `elapsed`, the hand is late, like a thread that fell behind, and a new timer counts its
    /// delay from `elapsed`, not from the hand. This is how the late-hand rule is tested
    /// without a loaded machine.
    pub fn manual_with_clock(
        tick: Duration,
        slots: usize,
        elapsed: impl Fn() -> Duration + Send + 'static,
    ) -> WheelTimer {
        let wheel = WheelTimer::manual(tick, slots);
        wheel.shared.lock().clock = Some(Box::new(elapsed));
        wheel
    }

    /// The duration of one tick.
    pub fn tick(&self) -> Duration {
        self.tick
    }

    /// The number of slots on the ring; a delay of `slots × tick` is one full turn.
    pub fn slots(&self) -> usize {
        self.shared.lock().ring.slots.len()
    }

    /// What the wheel holds in memory: slab entries and slot places. Neither grows with the
    /// number of operations, only with the number of timers alive at once: a freed entry and
    /// a hole are reused before anything grows, and a slot whose last timer leaves forgets
    /// its holes.
    pub fn footprint(&self) -> Footprint {
        let wheel = self.shared.lock();
        Footprint {
            entries: wheel.timers.len(),
            places: wheel.ring.slots.iter().map(|s| s.items.len()).sum(),
        }
    }

    /// The number of timers that will still fire: waiting ones, plus firing ones that will
    /// re-arm (periodic, or rescheduled from their own callback).
    pub fn pending(&self) -> usize {
        let wheel = self.shared.lock();
        wheel.live - wheel.spent
    }

    // ANCHOR: schedule
    /// Calls `callback` once, `delay` from now (rounded up to whole ticks, at least one).
    ///
    /// On a stopped wheel the callback is dropped at once and the handle is already dead
    /// (so too on a wheel holding 2³² − 1 timers, which no memory can hold anyway).
    pub fn schedule(
        &self,
        delay: Duration,
        callback: impl FnMut() + Send + 'static,
    ) -> TimerHandle {
        self.insert(delay, None, Box::new(callback))
    }

    /// Calls `callback` every `period`, the first time `period` from now, until cancelled.
    /// The period is rounded up to whole ticks, at least one.
    pub fn schedule_periodic(
        &self,
        period: Duration,
        callback: impl FnMut() + Send + 'static,
    ) -> TimerHandle {
        let ticks = ticks_for(period, self.tick);
        self.insert(period, Some(ticks), Box::new(callback))
    }

    fn insert(&self, delay: Duration, period: Option<u64>, callback: Callback) -> TimerHandle {
        let mut wheel = self.shared.lock();
        let ticks = ticks_for(delay, self.tick).saturating_add(wheel.lag(self.tick));
        let index = match wheel.vacant() {
            Some(index) if !wheel.stopped => index,
            _ => {
                drop(wheel);
                // Dropped without the lock: a callback's captures may run code when dropped.
                drop(callback);
                return TimerHandle::DEAD;
            }
        };
        let place = wheel.ring.schedule(index, ticks);
        let state = State::Waiting { place, callback };
        wheel.occupy(index, state, period)
    }
    // ANCHOR_END: schedule

    // ANCHOR: cancel
    /// Cancels a timer; returns false when it had already fired (one-shot) or was cancelled.
    ///
    /// While the timer's own callback runs: a periodic timer (or one rescheduled from its
    /// callback) is stopped and `true` is returned; a plain one-shot has already fired, so
    /// `false`. In both cases the running callback finishes normally.
    pub fn cancel(&self, handle: TimerHandle) -> bool {
        let mut wheel = self.shared.lock();
        match wheel.timers.find(handle).map(|e| &e.state) {
            None | Some(State::Free { .. } | State::Firing { rearm: None }) => return false,
            // The firing tick will find the entry gone and drop the callback when it returns.
            Some(State::Firing { rearm: Some(_) }) => {}
            Some(State::Waiting { place, .. }) => {
                let place = *place;
                wheel.ring.cancel(place);
            }
        }
        let state = wheel.release(handle.index());
        drop(wheel);
        // The callback, if it was waiting, is dropped without the lock.
        drop(state);
        true
    }
    // ANCHOR_END: cancel

    // ANCHOR: reschedule
    /// Moves a pending timer to fire `delay` from now; false when it no longer exists.
    ///
    /// From inside the timer's own callback this re-arms it, one-shot or periodic, to fire
    /// `delay` after the tick that is firing it (a periodic timer then goes on with its
    /// period). A one-shot that rescheduled itself is pending again.
    pub fn reschedule(&self, handle: TimerHandle, delay: Duration) -> bool {
        let mut guard = self.shared.lock();
        let wheel = &mut *guard;
        let ticks = ticks_for(delay, self.tick);
        let Some(entry) = wheel.timers.find_mut(handle) else {
            return false;
        };
        let old = match &mut entry.state {
            State::Free { .. } => return false,
            State::Firing { rearm } => {
                if rearm.is_none() {
                    wheel.spent -= 1;
                }
                *rearm = Some(ticks);
                return true;
            }
            State::Waiting { place, .. } => *place,
        };
        // Out first, then in: a timer rescheduled into its own slot refills the hole it
        // just left, so refreshing the same timers forever costs no memory.
        wheel.ring.cancel(old);
        let ticks = ticks.saturating_add(wheel.lag(self.tick));
        let new = wheel.ring.schedule(handle.index(), ticks);
        if let Some(Entry {
            state: State::Waiting { place, .. },
            ..
        }) = wheel.timers.find_mut(handle)
        {
            *place = new;
        }
        true
    }
    // ANCHOR_END: reschedule

    /// Time left before the timer fires (whole ticks left × tick), or `None` when it no longer
    /// exists. On a started wheel the true time is up to one tick less, since part of the
    /// current tick has already gone by.
    pub fn remaining(&self, handle: TimerHandle) -> Option<Duration> {
        let wheel = self.shared.lock();
        let ticks = match &wheel.timers.find(handle)?.state {
            State::Free { .. } => return None,
            State::Firing { rearm } => (*rearm)?,
            State::Waiting { place, .. } => wheel.ring.ticks_left(*place)?,
        };
        Some(ticks_to_duration(ticks, self.tick))
    }

    // ANCHOR: advance
    /// Deterministic mode: turns the wheel by `ticks` ticks, firing what falls due, on the
    /// calling thread. On a started wheel this turns it too, on top of its own ticks, as if
    /// that much time had passed at once.
    ///
    /// Each tick's callbacks run before the next tick turns, so a timer a callback schedules
    /// one tick ahead fires within the same call. If a callback panics, the tick is finished
    /// (the other callbacks run, timers are re-armed) and the panic then continues in the
    /// caller; the remaining ticks are not turned.
    pub fn advance(&self, ticks: u64) {
        for done in 0..ticks {
            let due = {
                let mut wheel = self.shared.lock();
                if wheel.stopped {
                    return;
                }
                if wheel.live == 0 {
                    // Nothing can fall due: count the remaining ticks instead of walking them,
                    // so that a huge `ticks` on an empty wheel costs nothing. The hand can
                    // stay where it is: on an empty ring every place counts from the hand.
                    wheel.turned = wheel.turned.saturating_add(ticks - done);
                    return;
                }
                wheel.tick()
            };
            if let Some(payload) = self.shared.fire(due) {
                panic::resume_unwind(payload);
            }
        }
    }
    // ANCHOR_END: advance

    /// Stops the wheel's thread and joins it; pending timers are dropped. Idempotent.
    ///
    /// A stopped wheel stays stopped: `schedule` returns dead handles and `advance` does
    /// nothing. Called from a callback on the wheel's own thread, it cannot join that thread;
    /// the thread then leaves as soon as the callback returns.
    pub fn stop(&self) {
        let dropped = {
            let mut wheel = self.shared.lock();
            wheel.stopped = true;
            wheel.live = 0;
            wheel.spent = 0;
            wheel.free = None;
            let slots = wheel.ring.slots.len();
            wheel.ring = Ring::new(slots);
            // An empty slab stays empty (nothing is scheduled on a stopped wheel), so every
            // handle misses from now on.
            std::mem::take(&mut wheel.timers)
        };
        // The callbacks' captures are dropped without the lock held.
        drop(dropped);
        self.shared.wake.notify_all();
        let handle = lock_ignoring_poison(&self.thread).take();
        if let Some(handle) = handle {
            if handle.thread().id() != thread::current().id() {
                // The thread catches callbacks' panics, so it can only end normally.
                let _ = handle.join();
            }
        }
    }
}

impl Drop for WheelTimer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Wheel> {
        lock_ignoring_poison(&self.wheel)
    }

    // ANCHOR: fire
    /// Runs the callbacks a tick collected, without the lock, then re-arms or retires their
    /// timers under it. Returns the first panic a callback raised, after the bookkeeping.
    fn fire(&self, mut due: Vec<(TimerHandle, Callback)>) -> Option<Box<dyn Any + Send>> {
        if due.is_empty() {
            return None;
        }
        let mut first_panic = None;
        for (_, callback) in &mut due {
            // A panicking callback must not leave its timer half-fired nor, on the wheel's
            // thread, end the thread that every other timer depends on.
            if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(callback)) {
                first_panic.get_or_insert(payload);
            }
        }
        let mut finished = Vec::new();
        {
            let mut wheel = self.lock();
            for (handle, callback) in due {
                let rearm = match wheel.timers.find(handle).map(|e| &e.state) {
                    Some(State::Firing { rearm }) => *rearm,
                    // Cancelled while firing (the generation moved on), or the wheel stopped.
                    _ => {
                        finished.push(callback);
                        continue;
                    }
                };
                // A stopped wheel's slab is empty, so a timer found here is on a running wheel.
                match rearm {
                    Some(ticks) => {
                        let place = wheel.ring.schedule(handle.index(), ticks);
                        if let Some(entry) = wheel.timers.find_mut(handle) {
                            entry.state = State::Waiting { place, callback };
                        }
                    }
                    None => {
                        if wheel.release(handle.index()).is_some() {
                            wheel.spent -= 1;
                        }
                        finished.push(callback);
                    }
                }
            }
        }
        drop(finished);
        first_panic
    }
    // ANCHOR_END: fire
}

impl Slot {
    fn new() -> Slot {
        Slot {
            items: Vec::new(),
            first_hole: NO_HOLE,
            timers: 0,
        }
    }
}

impl Ring {
    fn new(slots: usize) -> Ring {
        Ring {
            slots: (0..slots.max(1)).map(|_| Slot::new()).collect(),
            cursor: 0,
        }
    }
}

/// Handle lookups in the slab: the entry at the handle's index, if its generation matches.
trait Slab {
    fn find(&self, handle: TimerHandle) -> Option<&Entry>;
    fn find_mut(&mut self, handle: TimerHandle) -> Option<&mut Entry>;
}

impl Slab for Vec<Entry> {
    fn find(&self, handle: TimerHandle) -> Option<&Entry> {
        let entry = self.get(handle.index() as usize)?;
        (entry.generation == handle.generation()).then_some(entry)
    }

    fn find_mut(&mut self, handle: TimerHandle) -> Option<&mut Entry> {
        let entry = self.get_mut(handle.index() as usize)?;
        (entry.generation == handle.generation()).then_some(entry)
    }
}

impl Wheel {
    /// A free entry's index: the most recently freed one, or a new one at the end. `None`
    /// only when 2³² − 1 entries exist (index `u32::MAX` is [`TimerHandle::DEAD`]'s).
    fn vacant(&mut self) -> Option<u32> {
        if let Some(index) = self.free {
            self.free = match self.timers.get(index as usize).map(|e| &e.state) {
                Some(State::Free { next }) => *next,
                _ => None,
            };
            return Some(index);
        }
        let index = u32::try_from(self.timers.len())
            .ok()
            .filter(|&i| i != u32::MAX)?;
        self.timers.push(Entry {
            generation: 0,
            state: State::Free { next: None },
            period: None,
        });
        Some(index)
    }

    /// Moves a timer into the entry `vacant` returned; returns its handle.
    fn occupy(&mut self, index: u32, state: State, period: Option<u64>) -> TimerHandle {
        let Some(entry) = self.timers.get_mut(index as usize) else {
            return TimerHandle::DEAD;
        };
        entry.state = state;
        entry.period = period;
        self.live += 1;
        TimerHandle::new(index, entry.generation)
    }

    /// Frees entry `index` and returns what it held (`None` if it was free already). Its
    /// generation goes up so that its handles miss from now on; an entry whose generation
    /// cannot go up any more is retired rather than reused.
    fn release(&mut self, index: u32) -> Option<State> {
        let entry = self.timers.get_mut(index as usize)?;
        if let State::Free { .. } = entry.state {
            return None;
        }
        let state = std::mem::replace(&mut entry.state, State::Free { next: None });
        entry.period = None;
        self.live -= 1;
        if let Some(generation) = entry.generation.checked_add(1) {
            entry.generation = generation;
            entry.state = State::Free { next: self.free };
            self.free = Some(index);
        }
        Some(state)
    }

    // ANCHOR: lag
    /// Ticks the hand is behind real time (0 for a manual wheel, whose time is its hand).
    fn lag(&self, tick: Duration) -> u64 {
        let Some(clock) = &self.clock else { return 0 };
        let real = clock().as_nanos() / tick.as_nanos().max(1);
        u64::try_from(real)
            .unwrap_or(u64::MAX)
            .saturating_sub(self.turned)
    }
    // ANCHOR_END: lag

    // ANCHOR: tick
    /// One tick: the hand moves on, and each timer the ring finds due there leaves its
    /// `Waiting` state for `Firing`, its callback taken out to be run without the lock.
    fn tick(&mut self) -> Vec<(TimerHandle, Callback)> {
        self.turned += 1;
        let mut due = Vec::new();
        for index in self.ring.tick() {
            let Some(entry) = self.timers.get_mut(index as usize) else {
                continue;
            };
            let rearm = entry.period;
            match std::mem::replace(&mut entry.state, State::Firing { rearm }) {
                State::Waiting { callback, .. } => {
                    if rearm.is_none() {
                        self.spent += 1;
                    }
                    due.push((TimerHandle::new(index, entry.generation), callback));
                }
                // Only waiting timers are in slots; put anything else back as it was.
                other => entry.state = other,
            }
        }
        due
    }
    // ANCHOR_END: tick
}

// ANCHOR: run
/// The `wheel-timer` thread: waits for each tick's deadline, `origin + k × tick`, then turns
/// the wheel once. A late thread (long callbacks, a suspended machine) turns once per missed
/// tick without waiting, so timers keep their order and the wheel catches up.
fn run(shared: &Shared, tick: Duration, origin: Instant) {
    let mut turned: u64 = 0;
    let mut wheel = shared.lock();
    loop {
        if wheel.stopped {
            return;
        }
        let deadline = origin.checked_add(ticks_to_duration(turned + 1, tick));
        let now = Instant::now();
        match deadline {
            // A tick so long that its deadline cannot be represented: only `stop` is left.
            None => {
                wheel = shared.wake.wait(wheel).unwrap_or_else(|e| e.into_inner());
            }
            Some(deadline) if now < deadline => {
                // Spurious wake-ups and `stop` both come back round the loop.
                wheel = shared
                    .wake
                    .wait_timeout(wheel, deadline - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            Some(_) => {
                turned += 1;
                let due = wheel.tick();
                drop(wheel);
                // On this thread a callback's panic was already reported by the panic hook;
                // the timer service goes on for every other timer.
                let _ = shared.fire(due);
                wheel = shared.lock();
            }
        }
    }
}
// ANCHOR_END: run

/// `delay` in whole ticks, rounded up, at least one, saturating at `u64::MAX`.
fn ticks_for(delay: Duration, tick: Duration) -> u64 {
    let ticks = delay.as_nanos().div_ceil(tick.as_nanos().max(1));
    u64::try_from(ticks).unwrap_or(u64::MAX).max(1)
}

/// `ticks × tick`, saturating at `Duration::MAX`.
fn ticks_to_duration(ticks: u64, tick: Duration) -> Duration {
    let nanos = u128::from(ticks) * tick.as_nanos();
    let secs = nanos / 1_000_000_000;
    match u64::try_from(secs) {
        // The remainder is below 10^9, so it fits a u32.
        Ok(secs) => Duration::new(secs, (nanos % 1_000_000_000) as u32),
        Err(_) => Duration::MAX,
    }
}

/// Locks `mutex` even if a thread panicked while holding it; see [`Shared::wheel`] for why
/// that is sound here.
fn lock_ignoring_poison<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
