//! Chapter 8 — the ring of slots and its hand: where a timer waits, how it leaves, what a
//! tick finds due.
//!
//! This is exercise `ex08`'s part (the student writes `chapters/ex08_ring.rs`): schedule
//! (`Ring::schedule`, with the slot's `Slot::put`), cancel (`Ring::cancel`, with
//! `Slot::vacate`), tick (`Ring::tick`) and what is left (`Ring::ticks_left`). The ring knows
//! timers only by their slab index; the slab, the callbacks, the late-hand rule and the
//! thread are the parent module's.

use super::{Place, Ring, Slot, SlotItem, NO_HOLE};

// ANCHOR: slot
impl Slot {
    /// Puts a timer in the most recent hole, or at the end if there is none; returns its
    /// position.
    pub(super) fn put(&mut self, index: u32, laps: u64) -> usize {
        let timer = SlotItem::Timer { index, laps };
        self.timers += 1;
        let pos = self.first_hole;
        if let Some(hole @ SlotItem::Hole { .. }) = self.items.get_mut(pos) {
            if let SlotItem::Hole { next } = std::mem::replace(hole, timer) {
                self.first_hole = next;
            }
            pos
        } else {
            self.items.push(timer);
            self.items.len() - 1
        }
    }

    /// Turns the timer at `pos` into a hole, first in the chain. Nothing else moves.
    pub(super) fn vacate(&mut self, pos: usize) {
        if let Some(item @ SlotItem::Timer { .. }) = self.items.get_mut(pos) {
            *item = SlotItem::Hole {
                next: self.first_hole,
            };
            self.first_hole = pos;
            self.timers -= 1;
            if self.timers == 0 {
                // Only holes left: forget them, so a slot's array never outgrows its busiest
                // moment since it was last empty, and a tick does not walk dead places.
                self.items.clear();
                self.first_hole = NO_HOLE;
            }
        }
    }
}
// ANCHOR_END: slot

// ANCHOR: ring
impl Ring {
    /// Schedules the timer of slab entry `index` where the hand will be `ticks` ticks from
    /// now (`ticks` ≥ 1) and returns that place. The slot is `ticks` further on, modulo the
    /// ring; each full turn before that is one lap. A delay of exactly one turn lands on the
    /// hand's own slot with no lap, and fires when the hand comes back to it.
    pub(super) fn schedule(&mut self, index: u32, ticks: u64) -> Place {
        let n = self.slots.len() as u64;
        let slot = ((self.cursor as u64 + ticks % n) % n) as usize;
        let laps = (ticks - 1) / n;
        let pos = self.slots[slot].put(index, laps);
        Place { slot, pos }
    }

    /// Cancels the timer at `place` in O(1): its place becomes a hole, to be refilled by the
    /// next timer put in that slot. No other timer moves, so no other entry has to be told
    /// anything. A place out of range, or holding no timer, is left alone.
    pub(super) fn cancel(&mut self, place: Place) {
        if let Some(slot) = self.slots.get_mut(place.slot) {
            slot.vacate(place.pos);
        }
    }

    /// One tick: moves the hand one slot on and takes out what falls due there. Timers on
    /// their last lap leave the slot and their slab indices are returned; the others lose a
    /// lap and stay where they are.
    pub(super) fn tick(&mut self) -> Vec<u32> {
        self.cursor = (self.cursor + 1) % self.slots.len();
        let mut due = Vec::new();
        let Some(slot) = self.slots.get_mut(self.cursor) else {
            return due;
        };
        let mut pos = 0;
        // `vacate` may empty the array under us, hence `get_mut` each time round.
        while let Some(item) = slot.items.get_mut(pos) {
            pos += 1;
            match item {
                SlotItem::Hole { .. } => {}
                SlotItem::Timer { laps, .. } if *laps > 0 => *laps -= 1,
                SlotItem::Timer { index, .. } => {
                    due.push(*index);
                    slot.vacate(pos - 1);
                }
            }
        }
        due
    }

    /// Ticks until the timer at `place` fires: its laps in whole turns, plus how far its slot
    /// is ahead of the hand (a whole turn when it is the hand's own slot). `None` when
    /// `place` holds no timer.
    pub(super) fn ticks_left(&self, place: Place) -> Option<u64> {
        let Some(SlotItem::Timer { laps, .. }) = self.slots.get(place.slot)?.items.get(place.pos)
        else {
            return None;
        };
        let n = self.slots.len() as u64;
        let mut ahead = (place.slot as u64 + n - self.cursor as u64) % n;
        if ahead == 0 {
            ahead = n;
        }
        Some(laps.saturating_mul(n).saturating_add(ahead))
    }
}
// ANCHOR_END: ring
