//! Chapter 8 — the wheel timer, through the public API only.
//!
//! Most tests drive a manual wheel with `advance`, so time is exact and nothing sleeps; the
//! late hand is tested on a manual wheel with a clock the test moves; the few threaded tests
//! wait on events with a timeout.
//!
//! Run: `cargo test --test ch08_wheel_timer` (or `--features ex08` for the exercise).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use tcpserverlib::wheel_timer::{Footprint, TimerHandle, WheelTimer};

const TICK: Duration = Duration::from_millis(10);
const SLOTS: usize = 8;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A counter a callback can bump, and the callback that bumps it.
fn counter() -> (Arc<AtomicUsize>, impl FnMut() + Send + 'static) {
    let count = Arc::new(AtomicUsize::new(0));
    let inner = Arc::clone(&count);
    (count, move || {
        inner.fetch_add(1, Ordering::SeqCst);
    })
}

fn fired(count: &AtomicUsize) -> usize {
    count.load(Ordering::SeqCst)
}

/// The wheel is shareable across threads, as the server core needs.
#[test]
fn wheel_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<WheelTimer>();
    assert_send_sync::<Arc<WheelTimer>>();
}

/// A one-shot fires on exactly the tick its delay rounds up to, once.
#[test]
fn one_shot_fires_at_exactly_its_tick() {
    let wheel = WheelTimer::manual(TICK, SLOTS);
    let (count, callback) = counter();
    let handle = wheel.schedule(ms(35), callback); // 3.5 ticks → 4
    assert_eq!(wheel.pending(), 1);
    wheel.advance(3);
    assert_eq!(fired(&count), 0, "not before its 4th tick");
    wheel.advance(1);
    assert_eq!(fired(&count), 1, "on its 4th tick");
    wheel.advance(3 * SLOTS as u64);
    assert_eq!(fired(&count), 1, "a one-shot fires once");
    assert_eq!(wheel.pending(), 0);
    assert_eq!(wheel.remaining(handle), None);
    assert!(
        !wheel.cancel(handle),
        "a fired one-shot cannot be cancelled"
    );
    assert!(!wheel.reschedule(handle, ms(10)), "nor rescheduled");
}

/// Delays round up to whole ticks, and a zero delay still waits one tick.
#[test]
fn delays_round_up_to_at_least_one_tick() {
    let wheel = WheelTimer::manual(TICK, SLOTS);
    let (zero, cb0) = counter();
    let (one, cb1) = counter();
    let (exact, cb2) = counter();
    wheel.schedule(Duration::ZERO, cb0);
    wheel.schedule(Duration::from_nanos(1), cb1);
    wheel.schedule(ms(20), cb2);
    assert_eq!(
        (fired(&zero), fired(&one)),
        (0, 0),
        "nothing fires at schedule time"
    );
    wheel.advance(1);
    assert_eq!((fired(&zero), fired(&one), fired(&exact)), (1, 1, 0));
    wheel.advance(1);
    assert_eq!(fired(&exact), 1);
}

/// A delay of exactly one revolution, and delays of several (3.5 revolutions), fire on the
/// right tick through the lap count.
#[test]
fn delays_longer_than_a_revolution_fire_on_time() {
    let wheel = WheelTimer::manual(TICK, SLOTS);
    let revolution = SLOTS as u64; // in ticks
    let (one_rev, cb1) = counter();
    let (long, cb2) = counter();
    let h1 = wheel.schedule(TICK * SLOTS as u32, cb1);
    let h2 = wheel.schedule(TICK * (SLOTS as u32 * 7 / 2), cb2); // 3.5 revolutions = 28 ticks
    assert_eq!(
        wheel.remaining(h1),
        Some(TICK * SLOTS as u32),
        "a timer of exactly one revolution ({SLOTS} ticks) sits in the hand's own slot with \
         no lap: it has a whole turn, {SLOTS} ticks, left (Ring::ticks_left)"
    );
    assert_eq!(
        wheel.remaining(h2),
        Some(TICK * 28),
        "a timer of 28 ticks on a ring of {SLOTS}: laps × {SLOTS} plus how far its slot is \
         ahead of the hand (Ring::ticks_left)"
    );
    wheel.advance(revolution - 1);
    assert_eq!(
        fired(&one_rev),
        0,
        "a timer of one revolution fired early: a delay of exactly {SLOTS} ticks has no lap"
    );
    wheel.advance(1);
    assert_eq!(
        fired(&one_rev),
        1,
        "a timer of one revolution must fire when the hand is back, on tick {SLOTS}: no lap"
    );
    wheel.advance(28 - revolution - 1);
    assert_eq!(fired(&long), 0, "the hand passed its slot on earlier laps");
    assert_eq!(wheel.remaining(h2), Some(TICK), "one tick before it fires");
    wheel.advance(1);
    assert_eq!(fired(&long), 1, "a timer of 28 ticks must fire on tick 28");
}

/// A cancelled timer never fires, cancel says true once, and its callback is dropped.
#[test]
fn cancel_before_fire() {
    let wheel = WheelTimer::manual(TICK, SLOTS);
    let (count, callback) = counter();
    let witness = Arc::new(());
    let held = Arc::clone(&witness);
    let mut callback = callback;
    let handle = wheel.schedule(ms(30), move || {
        let _ = &held;
        callback();
    });
    wheel.advance(2);
    assert!(wheel.cancel(handle));
    assert_eq!(Arc::strong_count(&witness), 1, "the callback was dropped");
    assert!(!wheel.cancel(handle), "cancel twice");
    assert_eq!(wheel.remaining(handle), None);
    assert_eq!(wheel.pending(), 0);
    wheel.advance(4 * SLOTS as u64);
    assert_eq!(fired(&count), 0);
}

/// reschedule moves a pending timer earlier or later, counted from now.
#[test]
fn reschedule_earlier_and_later() {
    let wheel = WheelTimer::manual(TICK, SLOTS);
    let (early, cb1) = counter();
    let (late, cb2) = counter();
    let h1 = wheel.schedule(ms(100), cb1);
    let h2 = wheel.schedule(ms(30), cb2);
    wheel.advance(2);
    assert!(wheel.reschedule(h1, ms(10)), "earlier");
    assert!(wheel.reschedule(h2, ms(50)), "later");
    assert_eq!(wheel.remaining(h1), Some(ms(10)));
    assert_eq!(wheel.remaining(h2), Some(ms(50)));
    wheel.advance(1);
    assert_eq!((fired(&early), fired(&late)), (1, 0));
    wheel.advance(3);
    assert_eq!(fired(&late), 0, "not at its original tick");
    wheel.advance(1);
    assert_eq!(fired(&late), 1, "5 ticks after the reschedule");
    assert_eq!(wheel.pending(), 0);
}

/// A periodic timer fires every period until cancelled, and stays pending meanwhile.
#[test]
fn periodic_fires_every_period() {
    let wheel = WheelTimer::manual(TICK, SLOTS);
    let (count, callback) = counter();
    let handle = wheel.schedule_periodic(ms(30), callback);
    for round in 1..=10 {
        wheel.advance(2);
        assert_eq!(fired(&count), round - 1);
        wheel.advance(1);
        assert_eq!(fired(&count), round);
        assert_eq!(wheel.remaining(handle), Some(ms(30)));
        assert_eq!(wheel.pending(), 1);
    }
    assert!(wheel.cancel(handle));
    wheel.advance(10);
    assert_eq!(fired(&count), 10);
}

/// A periodic timer longer than a revolution keeps its period through the laps.
#[test]
fn periodic_longer_than_a_revolution() {
    let wheel = WheelTimer::manual(TICK, 3);
    let (count, callback) = counter();
    wheel.schedule_periodic(ms(70), callback);
    wheel.advance(70);
    assert_eq!(fired(&count), 10);
}

/// Many timers in the same slot, some on later laps, each fire exactly at their own tick.
#[test]
fn many_timers_in_one_slot() {
    let wheel = WheelTimer::manual(TICK, SLOTS);
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    // Every delay is 3 ticks + k revolutions: all in the same slot.
    for k in 0..300u32 {
        let log = Arc::clone(&log);
        let ticks = 3 + (k % 4) * SLOTS as u32;
        handles.push(wheel.schedule(TICK * ticks, move || log.lock().unwrap().push(k)));
    }
    for k in (0..300).step_by(5) {
        assert!(wheel.cancel(handles[k]));
    }
    for lap in 0..4u32 {
        wheel.advance(if lap == 0 { 3 } else { SLOTS as u64 });
        let mut got = std::mem::take(&mut *log.lock().unwrap());
        got.sort_unstable();
        let expected: Vec<u32> = (0..300).filter(|k| k % 4 == lap && k % 5 != 0).collect();
        assert_eq!(got, expected, "lap {lap}");
    }
    assert_eq!(wheel.pending(), 0);
}

/// remaining() counts down whole ticks and is None once the timer is gone.
#[test]
fn remaining_counts_down() {
    let wheel = WheelTimer::manual(TICK, SLOTS);
    let handle = wheel.schedule(ms(95), || {}); // 10 ticks
    for left in (1..=10u32).rev() {
        assert_eq!(wheel.remaining(handle), Some(TICK * left));
        wheel.advance(1);
    }
    assert_eq!(wheel.remaining(handle), None);
}

/// A callback may schedule, cancel and reschedule other timers on the same wheel: it runs
/// without the wheel's lock. A timer it schedules one tick ahead fires in the same advance.
#[test]
fn callbacks_may_use_the_wheel() {
    let wheel = Arc::new(WheelTimer::manual(TICK, SLOTS));
    let count = Arc::new(AtomicUsize::new(0));
    let victim = wheel.schedule(ms(50), || panic!("cancelled by another callback"));
    let moved = wheel.schedule(ms(20), {
        let count = Arc::clone(&count);
        move || {
            count.fetch_add(100, Ordering::SeqCst);
        }
    });
    let (weak, inner) = (Arc::downgrade(&wheel), Arc::clone(&count));
    wheel.schedule(ms(10), move || {
        if let Some(wheel) = weak.upgrade() {
            assert!(wheel.cancel(victim));
            assert!(wheel.reschedule(moved, ms(30)));
            let inner = Arc::clone(&inner);
            wheel.schedule(ms(10), move || {
                inner.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    wheel.advance(2);
    assert_eq!(
        fired(&count),
        1,
        "the new timer fired on tick 2, the moved one did not"
    );
    wheel.advance(2);
    assert_eq!(
        fired(&count),
        101,
        "the moved timer fired 3 ticks after tick 1"
    );
    wheel.advance(10);
    assert_eq!(wheel.pending(), 0);
}

/// Schedules a timer whose callback is given the wheel and its own handle, as a keep-alive
/// timer that re-arms or cancels itself would be. It holds the wheel weakly (see the module
/// docs: a strong `Arc` inside the wheel would keep the wheel alive forever).
fn schedule_self_aware(
    wheel: &Arc<WheelTimer>,
    delay: Duration,
    periodic: bool,
    mut body: impl FnMut(&WheelTimer, TimerHandle) + Send + 'static,
) -> TimerHandle {
    let me: Arc<Mutex<Option<TimerHandle>>> = Arc::default();
    let (weak, me_inside) = (Arc::downgrade(wheel), Arc::clone(&me));
    let callback = move || {
        let handle = *me_inside.lock().unwrap();
        if let (Some(wheel), Some(handle)) = (weak.upgrade(), handle) {
            body(&wheel, handle);
        }
    };
    let handle = if periodic {
        wheel.schedule_periodic(delay, callback)
    } else {
        wheel.schedule(delay, callback)
    };
    *me.lock().unwrap() = Some(handle);
    handle
}

/// Cancelling a periodic timer from its own callback stops it (true, then false on a second
/// try); the running call completes and it never fires again.
#[test]
fn cancel_while_firing_stops_a_periodic_timer() {
    let wheel = Arc::new(WheelTimer::manual(TICK, SLOTS));
    let answers = Arc::new(Mutex::new(Vec::new()));
    let out = Arc::clone(&answers);
    let mut calls = 0;
    let handle = schedule_self_aware(&wheel, ms(10), true, move |wheel, me| {
        calls += 1;
        if calls == 3 {
            out.lock().unwrap().push(wheel.cancel(me));
            out.lock().unwrap().push(wheel.cancel(me));
            out.lock().unwrap().push(wheel.pending() == 0);
        }
    });
    wheel.advance(3);
    assert_eq!(*answers.lock().unwrap(), vec![true, false, true]);
    wheel.advance(10);
    assert_eq!(answers.lock().unwrap().len(), 3, "no fourth firing");
    assert_eq!(wheel.pending(), 0);
    assert_eq!(wheel.remaining(handle), None);
}

/// Cancelling a plain one-shot from its own callback says false: it has already fired.
#[test]
fn cancel_while_firing_a_one_shot_is_too_late() {
    let wheel = Arc::new(WheelTimer::manual(TICK, SLOTS));
    let answer = Arc::new(Mutex::new(None));
    let out = Arc::clone(&answer);
    schedule_self_aware(&wheel, ms(10), false, move |wheel, me| {
        *out.lock().unwrap() = Some((wheel.cancel(me), wheel.pending(), wheel.remaining(me)));
    });
    wheel.advance(1);
    assert_eq!(*answer.lock().unwrap(), Some((false, 0, None)));
    assert_eq!(wheel.pending(), 0);
}

/// A one-shot that reschedules itself while firing is re-armed at the new delay, counted
/// from the tick that fired it; it is pending again meanwhile; cancelling after such a
/// reschedule, still inside the callback, undoes it.
#[test]
fn reschedule_while_firing_rearms_a_one_shot() {
    let wheel = Arc::new(WheelTimer::manual(TICK, SLOTS));
    let ticks_seen = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&ticks_seen);
    let now = Arc::new(AtomicUsize::new(0));
    let clock = Arc::clone(&now);
    let handle = schedule_self_aware(&wheel, ms(10), false, move |wheel, me| {
        let mut seen = seen.lock().unwrap();
        seen.push(clock.load(Ordering::SeqCst));
        assert!(wheel.reschedule(me, ms(20)));
        assert_eq!(wheel.remaining(me), Some(ms(20)));
        assert_eq!(wheel.pending(), 1);
        if seen.len() == 3 {
            assert!(wheel.cancel(me), "the re-arm made it cancellable again");
        }
    });
    for _ in 0..12 {
        now.fetch_add(1, Ordering::SeqCst);
        wheel.advance(1);
    }
    assert_eq!(*ticks_seen.lock().unwrap(), vec![1, 3, 5]);
    assert_eq!(wheel.remaining(handle), None);
    assert_eq!(wheel.pending(), 0);
}

/// A periodic timer that reschedules itself while firing fires next at the new delay, then
/// goes back to its period.
#[test]
fn reschedule_while_firing_a_periodic_timer() {
    let wheel = Arc::new(WheelTimer::manual(TICK, SLOTS));
    let ticks_seen = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&ticks_seen);
    let now = Arc::new(AtomicUsize::new(0));
    let clock = Arc::clone(&now);
    schedule_self_aware(&wheel, ms(30), true, move |wheel, me| {
        let mut seen = seen.lock().unwrap();
        seen.push(clock.load(Ordering::SeqCst));
        if seen.len() == 1 {
            assert!(wheel.reschedule(me, ms(10)));
        }
    });
    for _ in 0..10 {
        now.fetch_add(1, Ordering::SeqCst);
        wheel.advance(1);
    }
    assert_eq!(*ticks_seen.lock().unwrap(), vec![3, 4, 7, 10]);
    assert_eq!(wheel.pending(), 1);
}

/// A callback's panic comes out of `advance` only after the tick is finished: the other
/// callbacks of that tick ran, periodic timers were re-armed, and the wheel still works.
#[test]
fn a_panicking_callback_leaves_the_wheel_consistent() {
    let wheel = WheelTimer::manual(TICK, SLOTS);
    let (count, callback) = counter();
    let (periodic, tick_cb) = counter();
    wheel.schedule(ms(10), || {
        panic!("callback failure (expected by this test)")
    });
    wheel.schedule(ms(10), callback);
    wheel.schedule_periodic(ms(10), tick_cb);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wheel.advance(5)));
    assert!(result.is_err(), "the panic reached the caller");
    assert_eq!(
        (fired(&count), fired(&periodic)),
        (1, 1),
        "the tick was finished"
    );
    assert_eq!(wheel.pending(), 1, "the periodic timer is re-armed");
    wheel.advance(4);
    assert_eq!(fired(&periodic), 5);
}

/// Zero slots and a zero tick are clamped, not a panic or a division by zero; huge delays
/// saturate; a huge advance on an empty wheel returns at once.
#[test]
fn degenerate_inputs_are_clamped() {
    let wheel = WheelTimer::manual(TICK, SLOTS);
    assert_eq!(
        (wheel.tick(), wheel.slots()),
        (TICK, SLOTS),
        "a wheel reports the tick and the number of slots it was made with"
    );
    let wheel = WheelTimer::manual(Duration::ZERO, 0);
    assert_eq!(
        wheel.tick(),
        Duration::from_millis(1),
        "a zero tick becomes 1 ms"
    );
    assert_eq!(wheel.slots(), 1, "a ring of no slot gets one");
    let (count, callback) = counter();
    wheel.schedule(ms(5), callback);
    wheel.advance(4);
    assert_eq!(fired(&count), 0);
    wheel.advance(1);
    assert_eq!(fired(&count), 1);

    let far = wheel.schedule(Duration::MAX, || {});
    assert!(wheel
        .remaining(far)
        .is_some_and(|d| d > Duration::from_secs(1 << 40)));
    assert!(wheel.reschedule(far, Duration::MAX));
    assert!(wheel.cancel(far));
    wheel.advance(u64::MAX);
    assert_eq!(wheel.pending(), 0);
}

/// Dropping a wheel drops its pending timers' callbacks (and stops its thread, if any).
#[test]
fn drop_releases_pending_callbacks() {
    let witness = Arc::new(());
    let held = Arc::clone(&witness);
    let wheel = WheelTimer::manual(TICK, SLOTS);
    wheel.schedule(ms(100), move || {
        let _ = &held;
    });
    assert_eq!(Arc::strong_count(&witness), 2);
    drop(wheel);
    assert_eq!(Arc::strong_count(&witness), 1);
}

/// The threaded wheel fires a short timer on its own thread, named `wheel-timer`.
#[test]
fn started_wheel_fires_on_its_thread() {
    let wheel = WheelTimer::start(Duration::from_millis(1), 64);
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    wheel.schedule(Duration::from_millis(5), move || {
        let name = std::thread::current().name().map(str::to_owned);
        let _ = tx.send((name, start.elapsed()));
    });
    let (name, elapsed) = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the timer fired within 10 s");
    assert_eq!(name.as_deref(), Some("wheel-timer"));
    assert!(
        elapsed >= Duration::from_millis(4),
        "not early: {elapsed:?}"
    );
    wheel.stop();
}

/// stop() wakes the thread out of a long tick and joins it promptly, drops pending timers,
/// and is idempotent; a stopped wheel stays stopped.
#[test]
fn stop_joins_promptly_and_is_final() {
    let wheel = WheelTimer::start(Duration::from_secs(3600), 8);
    let witness = Arc::new(());
    let held = Arc::clone(&witness);
    wheel.schedule(Duration::from_secs(1), move || {
        let _ = &held;
    });
    let begun = Instant::now();
    wheel.stop();
    assert!(
        begun.elapsed() < Duration::from_secs(5),
        "stop waited for the tick instead of waking the thread"
    );
    assert_eq!(
        Arc::strong_count(&witness),
        1,
        "pending timers were dropped"
    );
    assert_eq!(wheel.pending(), 0);
    wheel.stop();
    let (count, callback) = counter();
    let dead = wheel.schedule(Duration::ZERO, callback);
    assert_eq!(wheel.remaining(dead), None);
    assert_eq!(wheel.pending(), 0);
    wheel.advance(10);
    assert_eq!(fired(&count), 0);
}

/// Refreshing the same timers again and again, as keep-alive does on every message, costs no
/// memory: a rescheduled timer leaves a hole that the next timer put in that slot refills, so
/// after 100 000 reschedules the slots hold exactly the timers and the slab exactly their
/// entries.
#[test]
fn refreshing_the_same_timers_forever_costs_no_memory() {
    let wheel = WheelTimer::manual(TICK, SLOTS);
    let handles: Vec<TimerHandle> = (0..100).map(|_| wheel.schedule(ms(50), || {})).collect();
    for round in 0..100_000usize {
        assert!(wheel.reschedule(handles[round % handles.len()], ms(50)));
    }
    assert_eq!(
        wheel.footprint(),
        Footprint {
            entries: 100,
            places: 100
        },
        "100 timers, each rescheduled 1000 times into the same slot: the slot must refill its \
         holes (Slot::put) instead of growing, and the slab must not grow"
    );
    wheel.advance(5);
    assert_eq!(wheel.pending(), 0, "the 100 timers fired");
}

/// Timers moved between slots, as a server's hold timers are when time passes between two
/// messages, keep the wheel's memory bounded by the timers alive: no slot grows past its
/// busiest moment and the slab past the most timers alive at once.
#[test]
fn moving_timers_between_slots_keeps_memory_bounded() {
    let wheel = WheelTimer::manual(TICK, SLOTS);
    // Periodic, so that the timers the hand fires come back, as a client's next hold timer.
    let handles: Vec<TimerHandle> = (0..100)
        .map(|_| wheel.schedule_periodic(ms(300), || {}))
        .collect();
    let bound = handles.len() * SLOTS;
    for round in 0..100_000usize {
        let delay = ms(10 * (1 + (round * 7 % 40) as u64));
        assert!(wheel.reschedule(handles[round % handles.len()], delay));
        if round % 1000 == 999 {
            wheel.advance(1);
        }
        let now = wheel.footprint();
        assert!(
            now.entries <= handles.len() && now.places <= bound,
            "after {round} reschedules: {now:?}; 100 timers may take at most 100 entries and \
             {bound} places (each slot at most every timer); holes must be refilled"
        );
    }
}

/// The slab reuses the entries timers leave, all of them: 1000 rounds of 100 timers that are
/// scheduled then cancelled (or fired) never take more than 100 entries.
#[test]
fn freed_entries_are_all_reused() {
    let wheel = WheelTimer::manual(TICK, SLOTS);
    for round in 0..1000 {
        let handles: Vec<TimerHandle> = (0..100).map(|_| wheel.schedule(ms(20), || {})).collect();
        if round % 2 == 0 {
            for handle in handles {
                assert!(
                    wheel.cancel(handle),
                    "round {round}: a pending timer cancels"
                );
            }
        } else {
            wheel.advance(2);
        }
        assert_eq!(wheel.pending(), 0, "round {round}: every timer left");
        let entries = wheel.footprint().entries;
        assert!(
            entries <= 100,
            "round {round}: the slab has {entries} entries for at most 100 timers at once; \
             every freed entry must go back on the free list"
        );
    }
}

/// A slot whose last timer leaves forgets its holes: after 1000 timers in one slot were
/// cancelled, or fired, the slots hold no place at all (a tick then has nothing to walk).
#[test]
fn an_emptied_slot_forgets_its_holes() {
    let wheel = WheelTimer::manual(TICK, SLOTS);
    let handles: Vec<TimerHandle> = (0..1000).map(|_| wheel.schedule(ms(30), || {})).collect();
    assert_eq!(wheel.footprint().places, 1000);
    for handle in handles {
        assert!(wheel.cancel(handle));
    }
    assert_eq!(
        wheel.footprint().places,
        0,
        "all 1000 timers of the slot were cancelled: Slot::vacate must empty the slot's array \
         when its last timer leaves"
    );
    for _ in 0..1000 {
        wheel.schedule(ms(30), || {});
    }
    wheel.advance(3);
    assert_eq!(
        wheel.footprint().places,
        0,
        "all 1000 timers of the slot fired: the slot must be empty"
    );
}

/// Holes made one after another in a slot are all refilled before its array grows: each
/// hole remembers the one made before it, so the chain holds every one of them.
#[test]
fn every_hole_of_a_slot_is_refilled() {
    let wheel = WheelTimer::manual(TICK, SLOTS);
    let handles: Vec<TimerHandle> = (0..10).map(|_| wheel.schedule(ms(30), || {})).collect();
    for handle in handles.iter().step_by(2) {
        assert!(wheel.cancel(*handle));
    }
    for _ in 0..5 {
        wheel.schedule(ms(30), || {});
    }
    assert_eq!(
        wheel.footprint().places,
        10,
        "10 timers in one slot, 5 cancelled, 5 scheduled back into it: all 5 holes must be \
         refilled (Slot::vacate chains each new hole to the previous first_hole)"
    );
}

/// A hand on time (each tick turned as the clock passed it) has no lag: a new timer counts
/// its delay from the hand, and fires exactly that many ticks later.
#[test]
fn a_hand_on_time_counts_from_itself() {
    let (clock, elapsed) = hand_clock();
    let wheel = WheelTimer::manual_with_clock(TICK, SLOTS, elapsed);
    // A timer far off keeps the wheel from being empty, so every tick is turned.
    wheel.schedule(ms(10_000), || {});
    for tick in 1..=5u32 {
        clock.store((TICK * tick).as_nanos() as u64, Ordering::SeqCst);
        wheel.advance(1);
    }
    let (count, callback) = counter();
    wheel.schedule(TICK * 3, callback);
    assert_eq!(
        wheel.remaining(wheel.schedule(TICK * 3, || {})),
        Some(TICK * 3),
        "the hand is on real tick 5: a timer of 3 ticks has 3 left"
    );
    for tick in 6..=7u32 {
        clock.store((TICK * tick).as_nanos() as u64, Ordering::SeqCst);
        wheel.advance(1);
    }
    assert_eq!(fired(&count), 0, "due on tick 8, not before");
    clock.store((TICK * 8).as_nanos() as u64, Ordering::SeqCst);
    wheel.advance(1);
    assert_eq!(
        fired(&count),
        1,
        "a timer of 3 ticks scheduled on tick 5, with the hand on time, fires on tick 8: \
         each turned tick must count in the hand's total"
    );
}

/// An advance that fires the wheel's last timer midway skips its remaining ticks instead of
/// walking them, and still counts every one: the late-hand rule compares that count with
/// the clock, so a timer scheduled once the hand has fallen behind counts from real time.
#[test]
fn an_advance_past_the_last_timer_counts_every_tick() {
    let (clock, elapsed) = hand_clock();
    let wheel = WheelTimer::manual_with_clock(TICK, SLOTS, elapsed);
    let at_tick = |n: u32| (TICK * n).as_nanos() as u64;
    let (first, callback) = counter();
    wheel.schedule(TICK * 2, callback);
    clock.store(at_tick(10), Ordering::SeqCst);
    // Fires at tick 2; nothing is left then, so ticks 3 to 10 are counted, not walked.
    wheel.advance(10);
    assert_eq!(fired(&first), 1);
    clock.store(at_tick(20), Ordering::SeqCst);
    let (late, callback) = counter();
    wheel.schedule(TICK * 3, callback);
    wheel.advance(12);
    assert_eq!(
        fired(&late),
        0,
        "the hand is on tick 22 and the clock said 20 when a timer of 3 ticks was scheduled: \
         due on tick 23; the skipped ticks must count in the hand's total"
    );
    wheel.advance(1);
    assert_eq!(fired(&late), 1, "due on tick 23");
}

/// A clock a test moves by hand: how long ago tick 0 began.
fn hand_clock() -> (Arc<AtomicU64>, impl Fn() -> Duration + Send + 'static) {
    let nanos = Arc::new(AtomicU64::new(0));
    let inner = Arc::clone(&nanos);
    (nanos, move || {
        Duration::from_nanos(inner.load(Ordering::SeqCst))
    })
}

/// The late-hand rule: when the hand is behind real time (a thread that fell behind and will
/// catch up), a new timer counts its delay from the real time, not from the hand. Here the
/// clock says 5 ticks have passed and the hand has turned none; a timer of 3 ticks is due at
/// real tick 8, so the 5 catch-up ticks must not fire it. The same for a reschedule.
#[test]
fn a_late_hand_does_not_fire_new_timers_early() {
    let (clock, elapsed) = hand_clock();
    let wheel = WheelTimer::manual_with_clock(TICK, SLOTS, elapsed);
    let (count, callback) = counter();
    let (moved, moved_cb) = counter();
    let keep = wheel.schedule(ms(1000), moved_cb);
    clock.store((TICK * 5).as_nanos() as u64, Ordering::SeqCst);
    wheel.schedule(ms(30), callback);
    assert!(wheel.reschedule(keep, ms(30)));
    wheel.advance(5);
    assert_eq!(
        (fired(&count), fired(&moved)),
        (0, 0),
        "the hand caught up with real tick 5; timers of 3 ticks scheduled at real tick 5 are due at tick 8, \
         not 3 ticks after the late hand"
    );
    clock.store((TICK * 7).as_nanos() as u64, Ordering::SeqCst);
    wheel.advance(2);
    assert_eq!((fired(&count), fired(&moved)), (0, 0), "not at tick 7");
    clock.store((TICK * 8).as_nanos() as u64, Ordering::SeqCst);
    wheel.advance(1);
    assert_eq!(
        (fired(&count), fired(&moved)),
        (1, 1),
        "both fire on real tick 8"
    );
}

/// A wheel's thread never fires a timer early: a timer of `d` ticks scheduled at any moment
/// of a tick fires more than `d − 1` whole ticks later (on the boundary of its `d`th tick).
#[test]
fn started_wheel_never_fires_early() {
    let tick = Duration::from_millis(10);
    let wheel = WheelTimer::start(tick, 64);
    let give_up = Instant::now() + Duration::from_secs(10);
    for d in [2u32, 3, 5, 3, 2] {
        let (tx, rx) = mpsc::channel();
        let start = Instant::now();
        wheel.schedule(tick * d, move || {
            let _ = tx.send(start.elapsed());
        });
        let elapsed = rx
            .recv_timeout(give_up.saturating_duration_since(Instant::now()))
            .expect("the timers fired within 10 s");
        assert!(
            elapsed > tick * (d - 1),
            "a timer of {d} ticks of {tick:?} fired after {elapsed:?}: more than one tick early"
        );
    }
}

/// The late-hand rule on a real thread: a callback busy for 2.5 ticks makes the hand late,
/// and a timer it schedules then (3 ticks) still fires more than 2 ticks later, not as soon
/// as the catching-up hand has turned 3 times.
#[test]
fn a_late_thread_does_not_fire_new_timers_early() {
    let tick = Duration::from_millis(20);
    // Three times, on fresh wheels: a wheel that fires early may get away with it once, when
    // the machine happens to delay its thread by just the right amount.
    for round in 1..=3 {
        let wheel = Arc::new(WheelTimer::start(tick, 64));
        let (tx, rx) = mpsc::channel();
        let weak = Arc::downgrade(&wheel);
        wheel.schedule(tick, move || {
            // Busy for a while, as a callback doing real work would be (not a synchronisation).
            std::thread::sleep(tick * 5 / 2);
            if let Some(wheel) = weak.upgrade() {
                let (tx, start) = (tx.clone(), Instant::now());
                wheel.schedule(tick * 3, move || {
                    let _ = tx.send(start.elapsed());
                });
            }
        });
        let elapsed = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the timer fired within 10 s");
        assert!(
            elapsed > tick * 2,
            "round {round}: a timer of 3 ticks of {tick:?}, scheduled while the hand was 2 ticks \
             late, fired after {elapsed:?}: its delay must count from the real time, not from \
             the late hand"
        );
    }
}

/// A callback busy on the wheel's thread for 50 ms: the wheel's stop must wait for it.
fn slow_callback(started: mpsc::Sender<()>, finished: Arc<AtomicBool>) -> impl FnMut() + Send {
    move || {
        let _ = started.send(());
        // Busy for a while, as a callback doing real work would be (not a synchronisation).
        std::thread::sleep(Duration::from_millis(50));
        finished.store(true, Ordering::SeqCst);
    }
}

/// `stop` joins the wheel's thread: when it returns, a callback that was running has
/// finished and the thread is gone, so nothing of the wheel runs any more.
#[test]
fn stop_waits_for_a_running_callback() {
    let wheel = WheelTimer::start(Duration::from_millis(1), 8);
    let (started_tx, started) = mpsc::channel();
    let finished = Arc::new(AtomicBool::new(false));
    wheel.schedule(ms(1), slow_callback(started_tx, Arc::clone(&finished)));
    started
        .recv_timeout(Duration::from_secs(10))
        .expect("the callback started within 10 s");
    wheel.stop();
    assert!(
        finished.load(Ordering::SeqCst),
        "stop returned while a callback was still running on the wheel's thread: it must join it"
    );
}

/// Dropping a started wheel stops it: its thread is joined (a running callback has
/// finished) and nothing fires afterwards; a periodic timer's callback is dropped.
#[test]
fn dropping_a_started_wheel_stops_it() {
    let wheel = WheelTimer::start(Duration::from_millis(1), 8);
    let (started_tx, started) = mpsc::channel();
    let finished = Arc::new(AtomicBool::new(false));
    wheel.schedule(ms(1), slow_callback(started_tx, Arc::clone(&finished)));
    let dropped = Arc::new(AtomicBool::new(false));
    let (late_tx, late) = mpsc::channel();
    let seen_dropped = Arc::clone(&dropped);
    wheel.schedule_periodic(ms(1), move || {
        if seen_dropped.load(Ordering::SeqCst) {
            let _ = late_tx.send(());
        }
    });
    started
        .recv_timeout(Duration::from_secs(10))
        .expect("the callback started within 10 s");
    drop(wheel);
    dropped.store(true, Ordering::SeqCst);
    assert!(
        finished.load(Ordering::SeqCst),
        "drop returned while a callback was still running: dropping a wheel must stop and join its thread"
    );
    assert_eq!(
        late.recv_timeout(Duration::from_secs(10)),
        Err(mpsc::RecvTimeoutError::Disconnected),
        "the periodic timer fired after the wheel was dropped, or its callback was kept"
    );
}

// ANCHOR: model
/// One operation of the random sequences checked against the model.
#[derive(Clone, Debug)]
enum Op {
    Schedule(u64),
    Periodic(u64),
    Cancel(usize),
    Reschedule(usize, u64),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u64..400).prop_map(Op::Schedule),
        1 => (1u64..200).prop_map(Op::Periodic),
        2 => any::<usize>().prop_map(Op::Cancel),
        2 => (any::<usize>(), 0u64..400).prop_map(|(i, d)| Op::Reschedule(i, d)),
        3 => (0u64..25).prop_map(Op::Advance),
    ]
}

/// The model's view of one timer: the absolute tick it fires on, and its period in ticks.
#[derive(Clone, Copy, Debug)]
struct Model {
    deadline: u64,
    period: Option<u64>,
}

/// Whole ticks of `TICK` for a delay in milliseconds, rounded up, at least one.
fn ticks(delay_ms: u64) -> u64 {
    delay_ms.div_ceil(10).max(1)
}

proptest! {
    // Failures are kept beside this file (`ch08_wheel_timer.proptest-regressions`) and
    // replayed first; the default place needs a `lib.rs` above the test, which tests/ lacks.
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::with_cases(300)
    })]

    /// Random schedule/periodic/cancel/reschedule/advance sequences agree with a model that
    /// is just a list of deadlines: same timers fire on the same ticks, same answers from
    /// cancel and reschedule, same remaining() and pending(); and the slab never holds more
    /// entries than the most timers alive at once. A failure names the operation (by its
    /// number in the sequence) and the law it broke.
    #[test]
    fn wheel_agrees_with_a_list_of_deadlines(ops in prop::collection::vec(op(), 1..80)) {
        let wheel = WheelTimer::manual(TICK, SLOTS);
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut model: Vec<Option<Model>> = Vec::new();
        let mut handles: Vec<TimerHandle> = Vec::new();
        let mut now = 0u64;
        let mut most_alive = 0;
        for (n, op) in ops.into_iter().enumerate() {
            match op {
                Op::Schedule(d) | Op::Periodic(d) => {
                    let label = handles.len();
                    let log = Arc::clone(&log);
                    let callback = move || log.lock().unwrap().push(label);
                    let periodic = matches!(op, Op::Periodic(_));
                    let handle = if periodic {
                        wheel.schedule_periodic(ms(d), callback)
                    } else {
                        wheel.schedule(ms(d), callback)
                    };
                    handles.push(handle);
                    model.push(Some(Model {
                        deadline: now + ticks(d),
                        period: periodic.then(|| ticks(d)),
                    }));
                }
                Op::Cancel(i) if !handles.is_empty() => {
                    let i = i % handles.len();
                    prop_assert_eq!(
                        wheel.cancel(handles[i]),
                        model[i].is_some(),
                        "op #{} {:?}: cancel of timer {} must say whether it was pending",
                        n, op, i
                    );
                    model[i] = None;
                }
                Op::Reschedule(i, d) if !handles.is_empty() => {
                    let i = i % handles.len();
                    prop_assert_eq!(
                        wheel.reschedule(handles[i], ms(d)),
                        model[i].is_some(),
                        "op #{} {:?}: reschedule of timer {} must say whether it was pending",
                        n, op, i
                    );
                    if let Some(m) = &mut model[i] {
                        m.deadline = now + ticks(d);
                    }
                }
                Op::Cancel(_) | Op::Reschedule(..) => {}
                Op::Advance(k) => {
                    for _ in 0..k {
                        now += 1;
                        wheel.advance(1);
                        let mut expected = Vec::new();
                        for (label, slot) in model.iter_mut().enumerate() {
                            if let Some(m) = slot {
                                if m.deadline == now {
                                    expected.push(label);
                                    match m.period {
                                        Some(p) => m.deadline += p,
                                        None => *slot = None,
                                    }
                                }
                            }
                        }
                        let mut got = std::mem::take(&mut *log.lock().unwrap());
                        got.sort_unstable();
                        prop_assert_eq!(
                            got, expected,
                            "op #{} {:?}: on tick {} the timers that fired (left) must be exactly those due then (right)",
                            n, op, now
                        );
                    }
                }
            }
            let alive = model.iter().flatten().count();
            most_alive = most_alive.max(alive);
            prop_assert_eq!(
                wheel.pending(), alive,
                "after op #{} {:?}: pending() must count the timers still to fire", n, op
            );
            for (i, (handle, m)) in handles.iter().zip(&model).enumerate() {
                let expected = m.map(|m| TICK * (m.deadline - now) as u32);
                prop_assert_eq!(
                    wheel.remaining(*handle), expected,
                    "after op #{} {:?}: remaining() of timer {} must be its deadline minus now (tick {})",
                    n, op, i, now
                );
            }
            let entries = wheel.footprint().entries;
            prop_assert!(
                entries <= most_alive,
                "after op #{} {:?}: the slab has {} entries but at most {} timers were ever alive at once: a freed entry was not reused",
                n, op, entries, most_alive
            );
        }
    }
}
// ANCHOR_END: model
