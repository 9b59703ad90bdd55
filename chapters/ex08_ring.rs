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
//! The reference is `src/wheel_timer/ring.rs`, also printed in the book's Solutions page.
//! Keep every signature; write the bodies.

// The parameters, imports and helpers are unused until the bodies are written.
#![allow(unused_variables, unused_imports, dead_code)]

use super::{Place, Ring, Slot, SlotItem, NO_HOLE};

// ANCHOR: stub

impl Slot {
    /// Puts a timer in the most recent hole, or at the end if there is none; returns its
    /// position.
    pub(super) fn put(&mut self, index: u32, laps: u64) -> usize {
        // TODO: count the timer in `self.timers`. If `self.items[self.first_hole]` is a
        // `SlotItem::Hole { next }` (use `get_mut`: `first_hole` may be `NO_HOLE`), overwrite
        // it with `SlotItem::Timer { index, laps }`, make `next` the new `first_hole`, and
        // return that position. Otherwise push the timer and return the last position.
        todo!("Slot::put")
    }

    /// Turns the timer at `pos` into a hole, first in the chain. Nothing else moves.
    pub(super) fn vacate(&mut self, pos: usize) {
        // TODO: only if `self.items[pos]` is a `SlotItem::Timer` (anything else: do nothing):
        // replace it with `SlotItem::Hole { next: self.first_hole }`, set `first_hole = pos`
        // and uncount the timer. When `self.timers` reaches 0 only holes are left: clear
        // `items` and set `first_hole` back to `NO_HOLE`, so that an emptied slot costs no
        // tick any work and grows again from nothing.
        todo!("Slot::vacate")
    }
}

impl Ring {
    /// Schedules the timer of slab entry `index` where the hand will be `ticks` ticks from
    /// now (`ticks` ≥ 1) and returns that place.
    pub(super) fn schedule(&mut self, index: u32, ticks: u64) -> Place {
        // TODO: with `n = self.slots.len()`: the slot is `(self.cursor + ticks) mod n`
        // (compute in `u64`, and reduce `ticks` mod `n` first so the sum cannot overflow);
        // laps = the whole turns the hand makes before the firing turn, `(ticks - 1) / n`, so
        // that a delay of exactly `n` ticks has no lap. `put` it in that slot and return the
        // `Place { slot, pos }`.
        todo!("Ring::schedule")
    }

    /// Cancels the timer at `place` in O(1): its place becomes a hole. A place out of range,
    /// or holding no timer, is left alone.
    pub(super) fn cancel(&mut self, place: Place) {
        // TODO: `vacate` `place.pos` in slot `place.slot` (use `get_mut`: never index out of
        // range).
        todo!("Ring::cancel")
    }

    /// One tick: moves the hand one slot on and takes out what falls due there. Returns the
    /// slab indices of the timers on their last lap, which leave the slot; the others lose a
    /// lap and stay where they are.
    pub(super) fn tick(&mut self) -> Vec<u32> {
        // TODO: move `self.cursor` one slot on, wrapping at `self.slots.len()`. Walk that
        // slot's `items` by position: skip holes; a timer with `laps > 0` loses one; a timer
        // with no lap left is due: collect its `index` and `vacate` its position. Careful:
        // `vacate` of the slot's last timer empties `items`, so re-check the length at every
        // step (a `while let Some(item) = slot.items.get_mut(pos)` loop does) rather than
        // iterating over the `Vec`.
        todo!("Ring::tick")
    }

    /// Ticks until the timer at `place` fires; `None` when `place` holds no timer.
    pub(super) fn ticks_left(&self, place: Place) -> Option<u64> {
        // TODO: read the item at `place` (`None` unless it is a `SlotItem::Timer`); the answer
        // is `laps × n` plus how far `place.slot` is ahead of `self.cursor` on the ring,
        // counting a whole turn, `n`, when it is the hand's own slot (a timer there waits for
        // the hand to come back). Saturate: `laps` may be huge.
        todo!("Ring::ticks_left")
    }
}
// ANCHOR_END: stub
