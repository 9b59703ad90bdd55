//! Chapter 8 — the wheel timer, through the public API only.
//!
//! Every test but two drives a manual wheel with `advance`, so time is exact and nothing
//! sleeps; the two threaded tests wait on events with a timeout.
//!
//! Run: `cargo test --test ch08_wheel_timer` (or `--features ex08` for the exercise).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use tcpserverlib::wheel_timer::{TimerHandle, WheelTimer};

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
    assert_eq!(wheel.remaining(h1), Some(TICK * SLOTS as u32));
    assert_eq!(wheel.remaining(h2), Some(TICK * 28));
    wheel.advance(revolution - 1);
    assert_eq!(fired(&one_rev), 0);
    wheel.advance(1);
    assert_eq!(fired(&one_rev), 1);
    wheel.advance(28 - revolution - 1);
    assert_eq!(fired(&long), 0, "the hand passed its slot on earlier laps");
    assert_eq!(wheel.remaining(h2), Some(TICK));
    wheel.advance(1);
    assert_eq!(fired(&long), 1);
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
    let wheel = WheelTimer::manual(Duration::ZERO, 0);
    assert_eq!(wheel.tick(), Duration::from_millis(1));
    assert_eq!(wheel.slots(), 1);
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
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Random schedule/periodic/cancel/reschedule/advance sequences agree with a model that
    /// is just a list of deadlines: same timers fire on the same ticks, same answers from
    /// cancel and reschedule, same remaining() and pending().
    #[test]
    fn wheel_agrees_with_a_list_of_deadlines(ops in prop::collection::vec(op(), 1..80)) {
        let wheel = WheelTimer::manual(TICK, SLOTS);
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut model: Vec<Option<Model>> = Vec::new();
        let mut handles: Vec<TimerHandle> = Vec::new();
        let mut now = 0u64;
        for op in ops {
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
                    prop_assert_eq!(wheel.cancel(handles[i]), model[i].is_some());
                    model[i] = None;
                }
                Op::Reschedule(i, d) if !handles.is_empty() => {
                    let i = i % handles.len();
                    prop_assert_eq!(wheel.reschedule(handles[i], ms(d)), model[i].is_some());
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
                        prop_assert_eq!(got, expected, "tick {}", now);
                    }
                }
            }
            prop_assert_eq!(wheel.pending(), model.iter().flatten().count());
            for (handle, m) in handles.iter().zip(&model) {
                let expected = m.map(|m| TICK * (m.deadline - now) as u32);
                prop_assert_eq!(wheel.remaining(*handle), expected);
            }
        }
    }
}
// ANCHOR_END: model
