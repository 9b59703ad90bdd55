//! Exercise 8 — the wheel's ring: schedule, cancel, tick (stub of `src/wheel_timer/ring.rs`).
//!
//! With `--features ex08` this file replaces the ring of `src/wheel_timer.rs`; everything
//! else of the wheel is given: the slab of timers and its handles, the callbacks (run without
//! the lock, re-armed after), the late-hand rule, the thread, and `reschedule`, which is your
//! `cancel` followed by your `schedule`. You write the ring, which knows timers only by their
//! slab index (a `u32`):
//!
//! - `Slot::put` and `Slot::vacate`: a slot's array whose positions never move, with a chain
//!   of holes that is refilled before the array grows;
//! - `Ring::schedule`: the slot and the laps of a timer due in `ticks` ticks;
//! - `Ring::cancel`: taking a timer out of its place in O(1);
//! - `Ring::tick`: one turn of the hand, returning the timers that fall due;
//! - `Ring::ticks_left`: what `WheelTimer::remaining` reports.
//!
//! The types (`Ring`, `Slot`, `SlotItem`, `Place`, `NO_HOLE`) are in `src/wheel_timer.rs`,
//! with a doc comment on every field; read them first, and chapter 8's section "The wheel
//! timer". Judged by (all three must pass):
//!
//! ```text
//! cargo test --features ex08 --test ch08_wheel_timer
//! cargo test --features ex08 --test ch08_keepalive
//! cargo test --features ex08 --test ch08_linger
//! ```
//!
//! The comments say what each function must achieve, not how; chapter 8's "Exercise"
//! section has hints, each folded, to open one at a time when stuck. Keep every signature;
//! write the bodies. Once your tests pass, compare with the reference,
//! `src/wheel_timer/ring.rs` (also in the book's Solutions page).

// The parameters, imports and helpers are unused until the bodies are written.
#![allow(unused_variables, unused_imports, dead_code)]

use super::{Place, Ring, Slot, SlotItem, NO_HOLE};

// ANCHOR: stub

impl Slot {
    /// Puts a timer in the most recent hole, or at the end if there is none; returns its
    /// position.
    pub(super) fn put(&mut self, index: u32, laps: u64) -> usize {
        // TODO: the slot's most recent hole, if it has one (its chain of holes starts at
        // `self.first_hole`, which may be `NO_HOLE`), becomes the timer, and the chain then
        // starts at that hole's `next`; with no hole, the array grows. `self.timers` keeps
        // counting the timers.
        todo!("Slot::put")
    }

    /// Turns the timer at `pos` into a hole, first in the chain. Nothing else moves.
    pub(super) fn vacate(&mut self, pos: usize) {
        // TODO: a timer at `pos` (anything else is left alone) becomes a hole, the first of
        // the chain, and no other item moves. When the slot's last timer has left, forget
        // the holes too: an empty slot costs a tick no work and grows again from nothing.
        todo!("Slot::vacate")
    }
}

impl Ring {
    /// Schedules the timer of slab entry `index` where the hand will be `ticks` ticks from
    /// now (`ticks` ≥ 1) and returns that place.
    pub(super) fn schedule(&mut self, index: u32, ticks: u64) -> Place {
        // TODO: the slot `ticks` after the hand, around the ring, and the laps the timer sits
        // out there: the whole turns the hand makes before the one that fires it (a delay of
        // exactly one turn has none). `put` it in that slot. `ticks` may be close to
        // `u64::MAX`: no sum may overflow.
        todo!("Ring::schedule")
    }

    /// Cancels the timer at `place` in O(1): its place becomes a hole. A place out of range,
    /// or holding no timer, is left alone.
    pub(super) fn cancel(&mut self, place: Place) {
        // TODO: the timer's place becomes a hole (`Slot::vacate`). A place out of range is
        // ignored, never a panic.
        todo!("Ring::cancel")
    }

    /// One tick: moves the hand one slot on and takes out what falls due there. Returns the
    /// slab indices of the timers on their last lap, which leave the slot; the others lose a
    /// lap and stay where they are.
    pub(super) fn tick(&mut self) -> Vec<u32> {
        // TODO: the hand moves one slot on, around the ring. In that slot, a timer with no
        // lap left is due: its index is returned and it leaves the slot; every other timer
        // loses a lap. The slot's array may be emptied under you, when its last timer leaves.
        todo!("Ring::tick")
    }

    /// Ticks until the timer at `place` fires; `None` when `place` holds no timer.
    pub(super) fn ticks_left(&self, place: Place) -> Option<u64> {
        // TODO: for a timer at `place`, its laps in whole turns plus how far its slot is
        // ahead of the hand, a whole turn for the hand's own slot (a timer there waits for
        // the hand to come back). `laps` may be huge: saturate, never overflow.
        todo!("Ring::ticks_left")
    }
}
// ANCHOR_END: stub
