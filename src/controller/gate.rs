//! The controller's gate: its control calls (`start`, `stop`, and the calls that reconfigure
//! a server) take turns through it, and a callback never waits for a call that joins the
//! server's threads.
//!
//! Why a gate and not just a mutex: `stop` joins every thread of the server, and
//! `set_accepting(false)` and `set_keepalive` join one. Those threads run the application's
//! callbacks, and a callback may itself call `stop` or `set_listening`. If that call waited
//! for the lock held by the joining call, each would wait for the other for ever. So the gate
//! remembers who holds it and whether that call joins threads: a callback that finds such a
//! call under way does not wait for it. Its `stop` is then either already being done (the
//! holder is `stop`) or left to the holder to do once it has joined (`stop_asked`); any other
//! call is refused with [`Busy`]. Calls from the application's own threads simply wait their
//! turn.

use std::cell::Cell;
use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

thread_local! {
    /// How many callbacks this thread is inside (a callback's call may run another callback).
    static CALLBACKS: Cell<usize> = const { Cell::new(0) };
}

/// Runs `callback` marked as a callback, so that the gate knows not to make it wait.
pub(crate) fn as_callback<R>(callback: impl FnOnce() -> R) -> R {
    struct Inside;
    impl Drop for Inside {
        // On return and on unwind alike: a panicking callback must not leave the mark set.
        fn drop(&mut self) {
            CALLBACKS.with(|depth| depth.set(depth.get() - 1));
        }
    }
    CALLBACKS.with(|depth| depth.set(depth.get() + 1));
    let _inside = Inside;
    callback()
}

fn in_callback() -> bool {
    CALLBACKS.with(|depth| depth.get() > 0)
}

/// A control call refused to a callback: `under_way`, on another thread, joins the server's
/// threads (perhaps the callback's own), so waiting for it might never end.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Busy {
    /// The call that holds the gate.
    pub(crate) under_way: &'static str,
}

/// The call holding the gate.
#[derive(Clone, Copy)]
struct Holder {
    call: &'static str,
    /// It joins service or client threads while it holds the gate.
    joins: bool,
}

#[derive(Default)]
struct Turn {
    holder: Option<Holder>,
    /// A callback called `stop` while a joining call other than `stop` held the gate: that
    /// call stops the server once it is done.
    stop_asked: bool,
}

/// One control call at a time, over the value `T` they share (the controller's running
/// threads).
#[derive(Default)]
pub(crate) struct Gate<T> {
    turn: Mutex<Turn>,
    /// Told whenever the gate is left.
    left: Condvar,
    value: Mutex<T>,
}

/// The gate, held by one call; `T` is reached through it. Dropping it lets the next call in.
pub(crate) struct Entry<'a, T> {
    gate: &'a Gate<T>,
    value: MutexGuard<'a, T>,
    released: bool,
}

impl<T> Gate<T> {
    /// Waits for the gate, for `call`, which joins no thread while it holds it.
    ///
    /// # Errors
    /// [`Busy`] when called from a callback while a call that joins threads holds the gate.
    pub(crate) fn enter(&self, call: &'static str) -> Result<Entry<'_, T>, Busy> {
        self.wait_turn(Holder { call, joins: false }, false)
    }

    /// Waits for the gate, for `call`, which joins threads while it holds it: callbacks that
    /// arrive meanwhile do not wait for it.
    ///
    /// # Errors
    /// [`Busy`] as for [`Gate::enter`].
    pub(crate) fn enter_joining(&self, call: &'static str) -> Result<Entry<'_, T>, Busy> {
        self.wait_turn(Holder { call, joins: true }, false)
    }

    /// Waits for the gate, for `stop`. `None` when `stop` was called from a callback while a
    /// joining call held the gate: the server is then being stopped already, or will be by
    /// that call as soon as it has joined the threads it is waiting for.
    pub(crate) fn enter_to_stop(&self) -> Option<Entry<'_, T>> {
        let stop = Holder {
            call: "stop",
            joins: true,
        };
        self.wait_turn(stop, true).ok()
    }

    // ANCHOR: wait_turn
    fn wait_turn(&self, holder: Holder, asks_stop: bool) -> Result<Entry<'_, T>, Busy> {
        let mut turn = self.turn.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            match turn.holder {
                None => break,
                Some(busy) if busy.joins && in_callback() => {
                    if asks_stop && busy.call != "stop" {
                        turn.stop_asked = true;
                    }
                    return Err(Busy {
                        under_way: busy.call,
                    });
                }
                Some(_) => turn = self.left.wait(turn).unwrap_or_else(PoisonError::into_inner),
            }
        }
        turn.holder = Some(holder);
        drop(turn);
        Ok(Entry {
            gate: self,
            value: self.value.lock().unwrap_or_else(PoisonError::into_inner),
            released: false,
        })
    }
    // ANCHOR_END: wait_turn
}

impl<T> Entry<'_, T> {
    /// Leaves the gate; true when a callback asked for `stop` meanwhile, which the caller
    /// must now do.
    pub(crate) fn leave(mut self) -> bool {
        self.release()
    }

    fn release(&mut self) -> bool {
        self.released = true;
        let mut turn = self
            .gate
            .turn
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        turn.holder = None;
        let asked = std::mem::take(&mut turn.stop_asked);
        self.gate.left.notify_all();
        asked
    }
}

impl<T> Drop for Entry<'_, T> {
    fn drop(&mut self) {
        if !self.released {
            self.release();
        }
    }
}

impl<T> Deref for Entry<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for Entry<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}
