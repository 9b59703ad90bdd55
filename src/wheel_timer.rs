//! Chapter 8 — the wheel timer. (Interface fixed; bodies being written.)

use std::time::Duration;

/// Identifies one scheduled timer; returned by [`WheelTimer::schedule`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimerHandle(u64);

/// A hashed timing wheel with its own thread (or driven by hand in deterministic mode).
pub struct WheelTimer {
    tick: Duration,
}

impl WheelTimer {
    /// Starts a wheel of `slots` slots turning one slot every `tick`, on a thread named
    /// `wheel-timer`.
    pub fn start(tick: Duration, slots: usize) -> WheelTimer {
        let _ = slots;
        WheelTimer { tick }
    }
    /// A wheel with no thread: time moves only when [`WheelTimer::advance`] is called.
    pub fn manual(tick: Duration, slots: usize) -> WheelTimer {
        let _ = slots;
        WheelTimer { tick }
    }
    /// The duration of one tick.
    pub fn tick(&self) -> Duration {
        self.tick
    }
    /// Calls `callback` once, `delay` from now (rounded up to whole ticks).
    pub fn schedule(
        &self,
        delay: Duration,
        callback: impl FnMut() + Send + 'static,
    ) -> TimerHandle {
        let _ = (delay, callback);
        todo!()
    }
    /// Calls `callback` every `period`, the first time `period` from now, until cancelled.
    pub fn schedule_periodic(
        &self,
        period: Duration,
        callback: impl FnMut() + Send + 'static,
    ) -> TimerHandle {
        let _ = (period, callback);
        todo!()
    }
    /// Cancels a timer; returns false when it had already fired (one-shot) or was cancelled.
    pub fn cancel(&self, handle: TimerHandle) -> bool {
        let _ = handle;
        todo!()
    }
    /// Moves a pending timer to fire `delay` from now; false when it no longer exists.
    pub fn reschedule(&self, handle: TimerHandle, delay: Duration) -> bool {
        let _ = (handle, delay);
        todo!()
    }
    /// Time left before the timer fires, or `None` when it no longer exists.
    pub fn remaining(&self, handle: TimerHandle) -> Option<Duration> {
        let _ = handle;
        todo!()
    }
    /// Deterministic mode: turns the wheel by `ticks` ticks, firing what falls due.
    pub fn advance(&self, ticks: u64) {
        let _ = ticks;
        todo!()
    }
    /// Stops the wheel's thread and joins it; pending timers are dropped. Idempotent.
    pub fn stop(&self) {
        todo!()
    }
}
