//! Chapter 8 benchmark: the wheel timer against a binary heap and a B-tree, on one mixed
//! workload.
//!
//! Run: `cargo run --release --bin bench_timer` (optionally `-- --ops N` (default 1 000 000)
//! and `--ops-per-tick N` (default 100: a 1 ms tick every 100 operations)).
//!
//! Every implementation replays the same pseudo-random sequence (a hand-rolled xorshift, so
//! no `rand`): 50% schedule, 30% reschedule and 20% cancel of a random live timer, delays
//! spread over 1 ms–30 s, and the clock advanced one 1 ms tick every 100 operations (10 s of
//! simulated time per million operations; `--ops-per-tick 10` gives 100 s, long enough for
//! the heap to pay for the stale entries its lazy cancellation leaves behind). Due callbacks are called on every tick.
//!
//! To compare data structures and not incidentals, all three are used the same way: behind a
//! `Mutex` (a timer service is shared between threads), callbacks boxed, called without the
//! lock, and every id map with the same cheap integer hash the wheel uses. The run checks
//! that all three fired and cancelled exactly the same number of timers.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tcpserverlib::say;
use tcpserverlib::wheel_timer::{TimerHandle, WheelTimer};

const DEFAULT_OPS: u64 = 1_000_000;
const DEFAULT_OPS_PER_TICK: u64 = 100;
const MAX_DELAY_MS: u64 = 30_000;
const SLOTS: usize = 4096;
const SEED: u64 = 0x2545_F491_4F6C_DD1D;

type Callback = Box<dyn FnMut() + Send>;

/// A multiplicative hash for the maps of integer timer ids here, so no map pays SipHash
/// (the wheel itself needs no map: its handles index a slab).
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// xorshift64*: a few instructions per number, reproducible from the seed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// What the workload needs from a timer service; delays are in milliseconds (= ticks).
trait TimerService {
    type Handle: Copy;
    fn schedule(&self, delay_ms: u64, callback: Callback) -> Self::Handle;
    fn reschedule(&self, handle: Self::Handle, delay_ms: u64) -> bool;
    fn cancel(&self, handle: Self::Handle) -> bool;
    fn advance_one_tick(&self);
}

impl TimerService for WheelTimer {
    type Handle = TimerHandle;
    fn schedule(&self, delay_ms: u64, callback: Callback) -> TimerHandle {
        WheelTimer::schedule(self, Duration::from_millis(delay_ms), callback)
    }
    fn reschedule(&self, handle: TimerHandle, delay_ms: u64) -> bool {
        WheelTimer::reschedule(self, handle, Duration::from_millis(delay_ms))
    }
    fn cancel(&self, handle: TimerHandle) -> bool {
        WheelTimer::cancel(self, handle)
    }
    fn advance_one_tick(&self) {
        self.advance(1);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A binary min-heap of deadlines. Cancel and reschedule cannot find an entry in the heap,
/// so they leave it there and bump the timer's generation; a popped entry whose generation
/// is stale is skipped (lazy cancellation).
#[derive(Default)]
struct HeapTimer {
    inner: Mutex<HeapInner>,
}

#[derive(Default)]
struct HeapInner {
    now: u64,
    next_id: u64,
    heap: BinaryHeap<Reverse<(u64, u64, u32)>>,
    /// id → (generation, callback)
    timers: IdMap<(u32, Callback)>,
}

impl TimerService for HeapTimer {
    type Handle = u64;
    fn schedule(&self, delay_ms: u64, callback: Callback) -> u64 {
        let mut t = lock(&self.inner);
        let id = t.next_id;
        t.next_id += 1;
        let deadline = t.now + delay_ms.max(1);
        t.heap.push(Reverse((deadline, id, 0)));
        t.timers.insert(id, (0, callback));
        id
    }
    fn reschedule(&self, id: u64, delay_ms: u64) -> bool {
        let mut guard = lock(&self.inner);
        let t = &mut *guard;
        let Some((generation, _)) = t.timers.get_mut(&id) else {
            return false;
        };
        *generation += 1;
        let deadline = t.now + delay_ms.max(1);
        t.heap.push(Reverse((deadline, id, *generation)));
        true
    }
    fn cancel(&self, id: u64) -> bool {
        let removed = lock(&self.inner).timers.remove(&id);
        removed.is_some()
    }
    fn advance_one_tick(&self) {
        let mut due = Vec::new();
        {
            let mut guard = lock(&self.inner);
            let t = &mut *guard;
            t.now += 1;
            while let Some(&Reverse((deadline, id, generation))) = t.heap.peek() {
                if deadline > t.now {
                    break;
                }
                t.heap.pop();
                if t.timers.get(&id).is_some_and(|(g, _)| *g == generation) {
                    if let Some((_, callback)) = t.timers.remove(&id) {
                        due.push(callback);
                    }
                }
            }
        }
        for mut callback in due {
            callback();
        }
    }
}

/// An ordered map keyed by `(deadline, id)`, plus id → deadline to find a timer's key.
#[derive(Default)]
struct BTreeTimer {
    inner: Mutex<BTreeInner>,
}

#[derive(Default)]
struct BTreeInner {
    now: u64,
    next_id: u64,
    tree: BTreeMap<(u64, u64), Callback>,
    deadlines: IdMap<u64>,
}

impl TimerService for BTreeTimer {
    type Handle = u64;
    fn schedule(&self, delay_ms: u64, callback: Callback) -> u64 {
        let mut t = lock(&self.inner);
        let id = t.next_id;
        t.next_id += 1;
        let deadline = t.now + delay_ms.max(1);
        t.tree.insert((deadline, id), callback);
        t.deadlines.insert(id, deadline);
        id
    }
    fn reschedule(&self, id: u64, delay_ms: u64) -> bool {
        let mut guard = lock(&self.inner);
        let t = &mut *guard;
        let Some(deadline) = t.deadlines.get_mut(&id) else {
            return false;
        };
        let new = t.now + delay_ms.max(1);
        if let Some(callback) = t.tree.remove(&(*deadline, id)) {
            t.tree.insert((new, id), callback);
        }
        *deadline = new;
        true
    }
    fn cancel(&self, id: u64) -> bool {
        let mut guard = lock(&self.inner);
        let t = &mut *guard;
        match t.deadlines.remove(&id) {
            Some(deadline) => t.tree.remove(&(deadline, id)).is_some(),
            None => false,
        }
    }
    fn advance_one_tick(&self) {
        let mut due = Vec::new();
        {
            let mut guard = lock(&self.inner);
            let t = &mut *guard;
            t.now += 1;
            while let Some(entry) = t.tree.first_entry() {
                if entry.key().0 > t.now {
                    break;
                }
                let ((_, id), callback) = entry.remove_entry();
                t.deadlines.remove(&id);
                due.push(callback);
            }
        }
        for mut callback in due {
            callback();
        }
    }
}

/// What one run did, to check that all three agree.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    fired: u64,
    cancelled: u64,
    stale_reschedules: u64,
    live_at_end: usize,
}

/// Replays the workload on `timers`, returning the elapsed time and what happened.
fn run<T: TimerService>(
    timers: &T,
    ops: u64,
    ops_per_tick: u64,
    fired: &'static AtomicU64,
) -> (Duration, Outcome) {
    let mut rng = XorShift(SEED);
    let mut live: Vec<T::Handle> = Vec::new();
    let (mut cancelled, mut stale) = (0, 0);
    let begun = Instant::now();
    for i in 0..ops {
        if i % ops_per_tick == 0 {
            timers.advance_one_tick();
        }
        let choice = rng.next() % 100;
        let delay_ms = 1 + rng.next() % MAX_DELAY_MS;
        let pick = rng.next();
        if choice < 50 || live.is_empty() {
            // The callback captures what a keep-alive timer would: a client id.
            let client = i;
            live.push(timers.schedule(
                delay_ms,
                Box::new(move || {
                    fired.fetch_add(1, Ordering::Relaxed);
                    std::hint::black_box(client);
                }),
            ));
        } else if choice < 80 {
            let idx = (pick % live.len() as u64) as usize;
            if !timers.reschedule(live[idx], delay_ms) {
                // It fired meanwhile; forget it, as a caller would.
                live.swap_remove(idx);
                stale += 1;
            }
        } else {
            let idx = (pick % live.len() as u64) as usize;
            if timers.cancel(live.swap_remove(idx)) {
                cancelled += 1;
            }
        }
    }
    let elapsed = begun.elapsed();
    let outcome = Outcome {
        fired: fired.load(Ordering::Relaxed),
        cancelled,
        stale_reschedules: stale,
        live_at_end: live.len(),
    };
    (elapsed, outcome)
}

fn main() {
    measure_all();
    // Every line queued for stdout is written before the process ends.
    tcpserverlib::printer::flush();
}

fn measure_all() {
    let args: Vec<String> = std::env::args().collect();
    let ops = flag(&args, "--ops", DEFAULT_OPS);
    let ops_per_tick = flag(&args, "--ops-per-tick", DEFAULT_OPS_PER_TICK);
    say!("$ {}", args.join(" "));
    say!(
        "{ops} operations: 50% schedule, 30% reschedule, 20% cancel; delays 1 ms..{} s; \
         1 tick = 1 ms every {ops_per_tick} operations; wheel of {SLOTS} slots",
        MAX_DELAY_MS / 1000
    );
    say!("each figure is the best of 3 runs; timing excludes dropping the structure");
    if cfg!(debug_assertions) {
        say!("warning: debug build; run with --release for meaningful figures");
    }

    // Each implementation runs ROUNDS times, in rotation, on a fresh structure dropped right
    // after its run, and keeps its best time: no implementation is the only one to pay for
    // the allocator's first trip to the kernel, or to inherit warm memory.
    const ROUNDS: usize = 3;
    const NAMES: [&str; 3] = [
        "wheel timer (manual)",
        "BinaryHeap + generations",
        "BTreeMap<(deadline, id)>",
    ];
    let mut best: [Option<(Duration, Outcome)>; 3] = [None, None, None];
    for _ in 0..ROUNDS {
        for (which, slot) in best.iter_mut().enumerate() {
            // A fresh counter per run: 'static because the callbacks must be 'static.
            let fired: &'static AtomicU64 = Box::leak(Box::new(AtomicU64::new(0)));
            let result = match which {
                0 => run(
                    &WheelTimer::manual(Duration::from_millis(1), SLOTS),
                    ops,
                    ops_per_tick,
                    fired,
                ),
                1 => run(&HeapTimer::default(), ops, ops_per_tick, fired),
                _ => run(&BTreeTimer::default(), ops, ops_per_tick, fired),
            };
            if slot.as_ref().is_none_or(|(t, _)| result.0 < *t) {
                *slot = Some(result);
            }
        }
    }
    let results: Vec<(&str, (Duration, Outcome))> = NAMES
        .iter()
        .zip(best)
        .filter_map(|(name, r)| r.map(|r| (*name, r)))
        .collect();

    say!();
    say!(
        "{:<26} {:>10} {:>8} {:>9} {:>10} {:>8}",
        "implementation",
        "total ms",
        "ns/op",
        "fired",
        "cancelled",
        "live"
    );
    for (name, (elapsed, outcome)) in &results {
        say!(
            "{:<26} {:>10.1} {:>8.1} {:>9} {:>10} {:>8}",
            name,
            elapsed.as_secs_f64() * 1e3,
            elapsed.as_nanos() as f64 / ops as f64,
            outcome.fired,
            outcome.cancelled,
            outcome.live_at_end,
        );
    }
    let agree = results.len() == 3 && results.windows(2).all(|w| w[0].1 .1 == w[1].1 .1);
    say!();
    if agree {
        say!("all three fired and cancelled the same timers: the comparison is fair");
    } else {
        say!("MISMATCH: the implementations disagree; the figures mean nothing");
        tcpserverlib::printer::flush();
        std::process::exit(1);
    }
}

/// The positive integer after `name` on the command line, or `default`; exits with a usage
/// line on a malformed value.
fn flag(args: &[String], name: &str, default: u64) -> u64 {
    match args.iter().position(|a| a == name) {
        None => default,
        Some(i) => match args.get(i + 1).and_then(|n| n.parse::<u64>().ok()) {
            Some(n) if n > 0 => n,
            _ => {
                let _ = writeln!(
                    std::io::stderr(),
                    "usage: bench_timer [--ops N] [--ops-per-tick N]   (N > 0)"
                );
                tcpserverlib::printer::flush();
                std::process::exit(2);
            }
        },
    }
}
