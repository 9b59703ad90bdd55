//! Exercise 8 — the wheel timer in deterministic mode (the stub of `src/wheel_timer.rs`).
//!
//! Build with `--features ex08` and this file replaces the reference module. The thread, the
//! firing without the lock and the bookkeeping after a callback are given; what is left is
//! the wheel itself: placing a timer in its slot with its laps (`place`), taking it out in
//! O(1) (`unlink`), turning the hand (`step`, `advance`), and `cancel`, `reschedule`,
//! `remaining`. Work until the chapter's tests pass (they drive a manual wheel):
//!
//! ```text
//! cargo test --features ex08 --test ch08_wheel_timer
//! ```
//!
//! Read `book/src/ch08-wheel-timer.md` first. Keep every type and signature; change bodies.

// Until the TODOs are done, parts of the wheel are never read; that is expected here.
#![allow(dead_code, unused_imports)]

use std::any::Any;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Identifies one scheduled timer; returned by [`WheelTimer::schedule`].
///
/// Handles are never reused, so a stale handle can only miss, never hit another timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimerHandle(u64);

/// What a timer runs when it fires.
type Callback = Box<dyn FnMut() + Send>;

/// The tick used when the caller asks for a zero tick, which would make every delay infinite
/// in ticks and the thread spin.
const MIN_TICK: Duration = Duration::from_millis(1);

/// One timer's place in a slot. `laps` lives here, not in [`Entry`], because the tick that
/// decrements it is already walking the slot.
struct SlotItem {
    /// Whose place this is.
    id: u64,
    /// Full turns of the hand still to wait before this timer fires.
    laps: u64,
}

/// Where a timer is in its life.
enum State {
    /// In `slots[slot][pos]`, waiting for the hand; `pos` is what makes removal O(1).
    Waiting {
        slot: usize,
        pos: usize,
        callback: Callback,
    },
    /// Its callback has been taken out and is running without the lock. `rearm` (in ticks)
    /// says what happens when it returns: periodic timers start with their period, a
    /// reschedule from inside the callback sets it, and `None` means the timer is finished.
    Firing { rearm: Option<u64> },
}

/// One scheduled timer.
struct Entry {
    /// Waiting in a slot, or firing.
    state: State,
    /// The period in ticks of a periodic timer; `None` for a one-shot.
    period: Option<u64>,
}

/// Everything the lock protects.
struct Wheel {
    /// The ring: each slot lists the timers the hand fires (or un-laps) when it gets there.
    slots: Vec<Vec<SlotItem>>,
    /// Every live timer by id, so that a handle reaches its timer in O(1).
    timers: HashMap<u64, Entry, IdHasherBuilder>,
    /// The slot the hand last visited; a timer due in `d` ticks goes `d` slots further on.
    cursor: usize,
    /// The next handle to give out.
    next_id: u64,
    /// Timers in `Firing { rearm: None }`: in the map, but not pending any more. Counted so
    /// that [`WheelTimer::pending`] stays O(1).
    spent: usize,
    /// Set by `stop`: the thread leaves, nothing new is kept, nothing is re-armed.
    stopped: bool,
}

/// A `Hasher` for the map of timers. Handles are sequential numbers we give out ourselves,
/// never chosen by a peer, so std's DoS-resistant SipHash buys nothing here; one multiply
/// (Fibonacci hashing) spreads them over the table and keeps the map a few nanoseconds per
/// operation.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed; this path exists for completeness.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type IdHasherBuilder = BuildHasherDefault<IdHasher>;

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
        let shared = Arc::clone(&wheel.shared);
        let tick = wheel.tick;
        let handle = thread::Builder::new()
            .name("wheel-timer".into())
            .spawn(move || run(&shared, tick))?;
        *lock_ignoring_poison(&wheel.thread) = Some(handle);
        Ok(wheel)
    }

    /// A wheel with no thread: time moves only when [`WheelTimer::advance`] is called.
    /// `slots` of 0 is taken as 1; a zero `tick` as 1 ms.
    pub fn manual(tick: Duration, slots: usize) -> WheelTimer {
        let slots = slots.max(1);
        let tick = tick.max(MIN_TICK);
        let wheel = Wheel {
            slots: (0..slots).map(|_| Vec::new()).collect(),
            timers: HashMap::default(),
            cursor: 0,
            next_id: 1,
            spent: 0,
            stopped: false,
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

    /// The duration of one tick.
    pub fn tick(&self) -> Duration {
        self.tick
    }

    /// The number of slots on the ring; a delay of `slots × tick` is one full turn.
    pub fn slots(&self) -> usize {
        self.shared.lock().slots.len()
    }

    /// The number of timers that will still fire: waiting ones, plus firing ones that will
    /// re-arm (periodic, or rescheduled from their own callback).
    pub fn pending(&self) -> usize {
        let wheel = self.shared.lock();
        wheel.timers.len() - wheel.spent
    }

    /// Calls `callback` once, `delay` from now (rounded up to whole ticks, at least one).
    ///
    /// On a stopped wheel the callback is dropped at once and the handle is already dead.
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
        let ticks = ticks_for(delay, self.tick);
        let mut wheel = self.shared.lock();
        let id = wheel.next_id;
        wheel.next_id += 1;
        if wheel.stopped {
            drop(wheel);
            // Dropped without the lock: a callback's captures may run code when dropped.
            drop(callback);
            return TimerHandle(id);
        }
        let (slot, pos) = wheel.place(id, ticks);
        let state = State::Waiting {
            slot,
            pos,
            callback,
        };
        wheel.timers.insert(id, Entry { state, period });
        TimerHandle(id)
    }

    /// Cancels a timer; returns false when it had already fired (one-shot) or was cancelled.
    ///
    /// While the timer's own callback runs: a periodic timer (or one rescheduled from its
    /// callback) is stopped and `true` is returned; a plain one-shot has already fired, so
    /// `false`. In both cases the running callback finishes normally.
    pub fn cancel(&self, handle: TimerHandle) -> bool {
        // TODO: look the timer up by id. Waiting: take it out of its slot (`unlink`) and out
        // of the map, and drop its callback after releasing the lock; true.
        // Firing with a re-arm pending: remove it from the map (the firing tick will find it
        // gone and drop the callback); true. Firing with no re-arm, or unknown: false.
        let _ = handle;
        todo!()
    }

    /// Moves a pending timer to fire `delay` from now; false when it no longer exists.
    ///
    /// From inside the timer's own callback this re-arms it, one-shot or periodic, to fire
    /// `delay` after the tick that is firing it (a periodic timer then goes on with its
    /// period). A one-shot that rescheduled itself is pending again.
    pub fn reschedule(&self, handle: TimerHandle, delay: Duration) -> bool {
        // TODO: `ticks_for(delay, self.tick)`; Waiting: `unlink` then `place` again and store
        // the new slot and pos in the entry. Firing: set its `rearm` (and keep `spent` right:
        // a timer that was finishing is pending again). Unknown: false.
        let _ = (handle, delay);
        todo!()
    }

    /// Time left before the timer fires (whole ticks left × tick), or `None` when it no longer
    /// exists. On a started wheel the true time is up to one tick less, since part of the
    /// current tick has already gone by.
    pub fn remaining(&self, handle: TimerHandle) -> Option<Duration> {
        // TODO: ticks left = laps × slots + how far the slot is ahead of the cursor (a slot
        // equal to the cursor is a whole turn ahead, not zero). Firing: its `rearm`, if any.
        // Convert with `ticks_to_duration`.
        let _ = handle;
        todo!()
    }

    /// Deterministic mode: turns the wheel by `ticks` ticks, firing what falls due, on the
    /// calling thread. On a started wheel this turns it too, on top of its own ticks, as if
    /// that much time had passed at once.
    ///
    /// Each tick's callbacks run before the next tick turns, so a timer a callback schedules
    /// one tick ahead fires within the same call. If a callback panics, the tick is finished
    /// (the other callbacks run, timers are re-armed) and the panic then continues in the
    /// caller; the remaining ticks are not turned.
    pub fn advance(&self, ticks: u64) {
        // TODO: for each tick: under the lock, return if stopped, else `step()`; release the
        // lock; `self.shared.fire(due)`; if it returns a panic payload,
        // `panic::resume_unwind` it. (Bonus: jump the cursor when no timer exists.)
        let _ = ticks;
        todo!()
    }

    /// Stops the wheel's thread and joins it; pending timers are dropped. Idempotent.
    ///
    /// A stopped wheel stays stopped: `schedule` returns dead handles and `advance` does
    /// nothing. Called from a callback on the wheel's own thread, it cannot join that thread;
    /// the thread then leaves as soon as the callback returns.
    pub fn stop(&self) {
        let dropped = {
            let mut wheel = self.shared.lock();
            wheel.stopped = true;
            wheel.spent = 0;
            for slot in &mut wheel.slots {
                slot.clear();
            }
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

    /// Runs the callbacks a tick collected, without the lock, then re-arms or retires their
    /// timers under it. Returns the first panic a callback raised, after the bookkeeping.
    fn fire(&self, mut due: Vec<(u64, Callback)>) -> Option<Box<dyn Any + Send>> {
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
            for (id, callback) in due {
                let rearm = match wheel.timers.get(&id).map(|e| &e.state) {
                    Some(State::Firing { rearm }) => *rearm,
                    // Cancelled while firing, or the wheel was stopped.
                    _ => {
                        finished.push(callback);
                        continue;
                    }
                };
                match rearm {
                    Some(ticks) if !wheel.stopped => {
                        let (slot, pos) = wheel.place(id, ticks);
                        if let Some(entry) = wheel.timers.get_mut(&id) {
                            entry.state = State::Waiting {
                                slot,
                                pos,
                                callback,
                            };
                        }
                    }
                    _ => {
                        if wheel.timers.remove(&id).is_some() && rearm.is_none() {
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
}

impl Wheel {
    /// Puts timer `id` where the hand will be `ticks` ticks from now (`ticks` ≥ 1) and
    /// returns that place. The slot is `ticks` further on, modulo the ring; each full turn
    /// before that is one lap. A delay of exactly one turn lands on the hand's own slot with
    /// no lap, and fires when the hand comes back to it.
    fn place(&mut self, id: u64, ticks: u64) -> (usize, usize) {
        // TODO: slot = (cursor + ticks) modulo the number of slots; laps = how many whole
        // turns before that, so that a delay of exactly one turn has 0 laps. Push
        // `SlotItem { id, laps }` and return (slot, its index in the slot).
        let _ = (id, ticks);
        todo!()
    }

    /// Takes `slots[slot][pos]` out in O(1): the slot's last item moves into the hole, and
    /// the timer it belongs to learns its new `pos`.
    fn unlink(&mut self, slot: usize, pos: usize) {
        // TODO: `swap_remove(pos)`, then tell the timer whose item moved into `pos` (if any)
        // its new position: that fix-up is what keeps removal O(1).
        let _ = (slot, pos);
        todo!()
    }

    /// Moves the hand one slot and takes out what falls due there: timers on their last lap
    /// become `Firing` and their callbacks are returned; the others lose a lap.
    fn step(&mut self) -> Vec<(u64, Callback)> {
        // TODO: move the cursor one slot on (wrapping). Walk that slot: items with laps left
        // lose one; items with none are unlinked (careful: another item moves into the same
        // index) and their entry becomes `Firing { rearm: entry.period }`; return their ids
        // and callbacks. Count a one-shot in `spent`.
        todo!()
    }
}

/// The `wheel-timer` thread: waits for each tick's deadline, `origin + k × tick`, then turns
/// the wheel once. A late thread (long callbacks, a suspended machine) turns once per missed
/// tick without waiting, so timers keep their order and the wheel catches up.
fn run(shared: &Shared, tick: Duration) {
    let origin = Instant::now();
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
                let due = wheel.step();
                drop(wheel);
                // On this thread a callback's panic was already reported by the panic hook;
                // the timer service goes on for every other timer.
                let _ = shared.fire(due);
                wheel = shared.lock();
            }
        }
    }
}

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
