//! Chapter 8 — keep-alive: noticing a peer that vanished without closing.
//!
//! A peer whose machine crashed, or whose network went away, never sends a FIN: its
//! connection would stay in our DB forever. The course's answer: each client has a hold
//! timer; any bytes from the client restart it; if it expires, the client is considered dead
//! and disconnected. The server also sends its own keep-alive every interval, so a quiet but
//! healthy peer sees us alive too. Defaults as in the course: interval 10 s, hold 15 s.
//!
//! What changes in Rust: the timers live on our own [`WheelTimer`]; an expiring timer does
//! not touch the client itself, it tells the controller (services talk through the
//! controller, here through the narrow `KeepAliveHost` interface the controller
//! implements), and it holds only a `Weak` reference to the server so a pending timer never
//! keeps a stopped server alive.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::Duration;

use crate::client::ClientId;
use crate::connection::{lock, Connection};
use crate::wheel_timer::WheelTimer;

/// The wheel's size, as chapter 8's wheel advises for keep-alive: with the default 100 ms
/// tick, 512 slots make one revolution of 51 s, so the usual delays (10 s interval, 15 s
/// hold) need no laps, and longer ones simply lap.
const SLOTS: usize = 512;

// ANCHOR: host
/// What the keep-alive timers need from the rest of the server; the controller implements it.
pub(crate) trait KeepAliveHost: Send + Sync + 'static {
    /// The client's hold time passed without a byte from it.
    fn hold_expired(self: &Arc<Self>, id: ClientId);
    /// Time to send the server's own keep-alive to the client.
    fn send_keepalive(self: &Arc<Self>, id: ClientId);
}
// ANCHOR_END: host

// ANCHOR: config
/// Keep-alive settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeepAliveConfig {
    /// How often the server sends its own keep-alive to each client (`None`: never).
    pub interval: Option<Duration>,
    /// How long a client may stay silent before it is disconnected.
    pub hold: Duration,
    /// The wheel's tick: the precision of both timers.
    pub tick: Duration,
}

impl Default for KeepAliveConfig {
    fn default() -> Self {
        KeepAliveConfig {
            interval: Some(Duration::from_secs(10)),
            hold: Duration::from_secs(15),
            tick: Duration::from_millis(100),
        }
    }
}
// ANCHOR_END: config

impl KeepAliveConfig {
    /// The course's rule of thumb: hold time one and a half intervals.
    pub fn with_interval(interval: Duration) -> KeepAliveConfig {
        let tick = (interval / 20).clamp(Duration::from_millis(1), Duration::from_millis(100));
        KeepAliveConfig {
            interval: Some(interval),
            hold: interval.saturating_add(interval / 2),
            tick,
        }
    }
}

impl fmt::Display for KeepAliveConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.interval {
            Some(i) => write!(f, "interval {}ms", i.as_millis())?,
            None => f.write_str("no keep-alives sent")?,
        }
        write!(f, ", hold {}ms", self.hold.as_millis())
    }
}

/// The keep-alive service of one server: its settings, its wheel, and the rules for arming
/// timers. The settings can change while the server runs ([`KeepAlive::reconfigure`]), so
/// they and the wheel sit behind one `RwLock`: every timer operation (arm, refresh, disarm)
/// takes it for reading, so a client's handles always belong to the wheel in force; a change
/// takes it for writing and moves every client onto the new timers at once.
pub(crate) struct KeepAlive {
    state: RwLock<State>,
}

/// What [`KeepAlive`] guards.
struct State {
    /// The settings; `None`: keep-alive is off.
    config: Option<KeepAliveConfig>,
    /// The wheel, present while the server runs with keep-alive on.
    wheel: Option<Arc<WheelTimer>>,
    /// The server runs: a wheel is started as soon as there are settings.
    running: bool,
}

impl KeepAlive {
    pub(crate) fn new(config: Option<KeepAliveConfig>) -> KeepAlive {
        KeepAlive {
            state: RwLock::new(State {
                config,
                wheel: None,
                running: false,
            }),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The settings in force; `None` when keep-alive is off.
    pub(crate) fn config(&self) -> Option<KeepAliveConfig> {
        self.read().config.clone()
    }

    /// True when keep-alive is on: an empty message from a client is then a keep-alive.
    pub(crate) fn is_on(&self) -> bool {
        self.read().config.is_some()
    }

    /// The server starts: the wheel starts turning, if keep-alive is on.
    pub(crate) fn start(&self) -> std::io::Result<()> {
        let mut state = self.write();
        state.running = true;
        if let Some(config) = &state.config {
            let wheel = WheelTimer::try_start(config.tick, SLOTS)?;
            state.wheel = Some(Arc::new(wheel));
        }
        Ok(())
    }

    /// The server stops: the wheel stops (outside the lock: a callback that is running may
    /// need it to finish, and `stop` waits for that callback).
    pub(crate) fn stop(&self) {
        let wheel = {
            let mut state = self.write();
            state.running = false;
            state.wheel.take()
        };
        if let Some(wheel) = wheel {
            wheel.stop();
        }
    }

    // ANCHOR: reconfigure
    /// New settings (`None`: off), on a running server too. Every client `clients` lists is
    /// moved onto them at once, with a full new hold time (as if heard from now), so no timer
    /// of the old settings is left behind; from then on every refresh uses the new hold time.
    /// `sends`: the framing has an empty message to send as a keep-alive.
    ///
    /// # Errors
    /// The wheel's thread cannot be started; the old settings then stay in force.
    pub(crate) fn reconfigure<H: KeepAliveHost>(
        &self,
        host: &Arc<H>,
        config: Option<KeepAliveConfig>,
        clients: impl FnOnce() -> Vec<Arc<Connection>>,
        sends: bool,
    ) -> std::io::Result<()> {
        let retired = {
            let mut state = self.write();
            // The wheel the new settings need: one turning at their tick, while running.
            let wanted = config.as_ref().filter(|_| state.running).map(|c| c.tick);
            // (The wheel raises a tick under 1 ms to 1 ms.)
            let keep = matches!((&state.wheel, wanted),
                (Some(w), Some(t)) if w.tick() == t.max(Duration::from_millis(1)));
            // Started before anything changes, so that a failure leaves the old settings whole.
            let started = match (keep, wanted) {
                (false, Some(tick)) => Some(Arc::new(WheelTimer::try_start(tick, SLOTS)?)),
                _ => None,
            };
            // Listed under the lock: a client arriving from now on is armed after us, on the
            // new wheel; one listed here is moved, and the acceptor's own arm then finds it
            // armed.
            let clients = clients();
            for conn in &clients {
                state.cancel(conn);
            }
            let retired = if keep {
                None
            } else {
                std::mem::replace(&mut state.wheel, started)
            };
            state.config = config;
            for conn in &clients {
                state.arm(host, conn, sends);
            }
            retired
        };
        if let Some(wheel) = retired {
            wheel.stop();
        }
        Ok(())
    }
    // ANCHOR_END: reconfigure

    // ANCHOR: arm
    /// Starts a new client's hold timer, and its periodic keep-alive if the server sends them
    /// (`sends`: the framing has an empty message to send as one).
    pub(crate) fn arm<H: KeepAliveHost>(&self, host: &Arc<H>, conn: &Connection, sends: bool) {
        self.read().arm(host, conn, sends);
    }
    // ANCHOR_END: arm

    // ANCHOR: refresh
    /// Bytes arrived from the client: it is alive, restart its hold time.
    pub(crate) fn refresh(&self, conn: &Connection) {
        let state = self.read();
        let (Some(wheel), Some(config)) = (&state.wheel, &state.config) else {
            return;
        };
        if let Some(handle) = *lock(&conn.keepalive) {
            wheel.reschedule(handle, hold_delay(config));
        }
    }
    // ANCHOR_END: refresh

    /// The client is gone: cancel its timers.
    pub(crate) fn disarm(&self, conn: &Connection) {
        self.read().cancel(conn);
    }

    /// Time left on the client's hold timer.
    pub(crate) fn remaining(&self, conn: &Connection) -> Option<Duration> {
        let state = self.read();
        let (wheel, config) = (state.wheel.as_ref()?, state.config.as_ref()?);
        let handle = (*lock(&conn.keepalive))?;
        // Without the extra tick of `hold_delay`: what is left of the hold time itself.
        wheel
            .remaining(handle)
            .map(|left| left.saturating_sub(config.tick))
    }
}

// ANCHOR: hold_delay
/// The delay given to the wheel for a hold time. The wheel fires on tick boundaries, up to
/// one tick before the exact delay; one tick more guarantees a client is never dropped
/// before its full hold time.
fn hold_delay(config: &KeepAliveConfig) -> Duration {
    config.hold.saturating_add(config.tick)
}
// ANCHOR_END: hold_delay

impl State {
    /// Arms the client's timers on the wheel in force, unless it is already armed (a change
    /// of settings may have armed it between its arrival in the DB and the acceptor's call)
    /// or already closed (its disarm has run, or is about to and will find these timers).
    fn arm<H: KeepAliveHost>(&self, host: &Arc<H>, conn: &Connection, sends: bool) {
        let (Some(wheel), Some(config)) = (&self.wheel, &self.config) else {
            return;
        };
        let mut hold = lock(&conn.keepalive);
        if hold.is_some() || conn.is_closed() {
            return;
        }
        let id = conn.client.id;
        let server: Weak<H> = Arc::downgrade(host);
        *hold = Some(wheel.schedule(hold_delay(config), move || {
            if let Some(host) = server.upgrade() {
                host.hold_expired(id);
            }
        }));
        if let (Some(interval), true) = (config.interval, sends) {
            let server: Weak<H> = Arc::downgrade(host);
            let sender = wheel.schedule_periodic(interval, move || {
                if let Some(host) = server.upgrade() {
                    host.send_keepalive(id);
                }
            });
            lock(&conn.keepalive_sender).replace(sender);
        }
    }

    /// Cancels the client's timers on the wheel in force.
    fn cancel(&self, conn: &Connection) {
        let Some(wheel) = &self.wheel else { return };
        if let Some(handle) = lock(&conn.keepalive).take() {
            wheel.cancel(handle);
        }
        if let Some(handle) = lock(&conn.keepalive_sender).take() {
            wheel.cancel(handle);
        }
    }
}
