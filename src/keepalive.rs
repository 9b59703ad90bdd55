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
use std::sync::{Arc, Mutex, Weak};
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
            hold: interval + interval / 2,
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

/// The keep-alive service of one server: its wheel and the rules for arming timers.
pub(crate) struct KeepAlive {
    config: KeepAliveConfig,
    /// The wheel, present while the server runs.
    wheel: Mutex<Option<Arc<WheelTimer>>>,
}

impl KeepAlive {
    pub(crate) fn new(config: KeepAliveConfig) -> KeepAlive {
        KeepAlive {
            config,
            wheel: Mutex::new(None),
        }
    }

    fn wheel(&self) -> Option<Arc<WheelTimer>> {
        lock(&self.wheel).clone()
    }

    pub(crate) fn start(&self) -> std::io::Result<()> {
        let wheel = WheelTimer::try_start(self.config.tick, SLOTS)?;
        *lock(&self.wheel) = Some(Arc::new(wheel));
        Ok(())
    }

    // ANCHOR: hold_delay
    /// The delay given to the wheel for a hold time. The wheel fires on tick boundaries, up
    /// to one tick before the exact delay; one tick more guarantees a client is never dropped
    /// before its full hold time.
    fn hold_delay(&self) -> Duration {
        self.config.hold + self.config.tick
    }
    // ANCHOR_END: hold_delay

    pub(crate) fn stop(&self) {
        if let Some(wheel) = lock(&self.wheel).take() {
            wheel.stop();
        }
    }

    // ANCHOR: arm
    /// Starts a new client's hold timer, and its periodic keep-alive if the server sends them
    /// (`sends`: the framing has an empty message to send as one).
    pub(crate) fn arm<H: KeepAliveHost>(&self, host: &Arc<H>, conn: &Connection, sends: bool) {
        let Some(wheel) = self.wheel() else { return };
        let id = conn.client.id;
        let server: Weak<H> = Arc::downgrade(host);
        let handle = wheel.schedule(self.hold_delay(), move || {
            if let Some(host) = server.upgrade() {
                host.hold_expired(id);
            }
        });
        *lock(&conn.keepalive) = Some(handle);
        if let (Some(interval), true) = (self.config.interval, sends) {
            let server: Weak<H> = Arc::downgrade(host);
            let sender = wheel.schedule_periodic(interval, move || {
                if let Some(host) = server.upgrade() {
                    host.send_keepalive(id);
                }
            });
            lock(&conn.keepalive_sender).replace(sender);
        }
    }
    // ANCHOR_END: arm

    // ANCHOR: refresh
    /// Bytes arrived from the client: it is alive, restart its hold time.
    pub(crate) fn refresh(&self, conn: &Connection) {
        let (Some(wheel), Some(handle)) = (self.wheel(), *lock(&conn.keepalive)) else {
            return;
        };
        wheel.reschedule(handle, self.hold_delay());
    }
    // ANCHOR_END: refresh

    /// The client is gone: cancel its timers.
    pub(crate) fn disarm(&self, conn: &Connection) {
        let Some(wheel) = self.wheel() else { return };
        if let Some(handle) = lock(&conn.keepalive).take() {
            wheel.cancel(handle);
        }
        if let Some(handle) = lock(&conn.keepalive_sender).take() {
            wheel.cancel(handle);
        }
    }

    /// Time left on the client's hold timer.
    pub(crate) fn remaining(&self, conn: &Connection) -> Option<Duration> {
        let wheel = self.wheel()?;
        let handle = (*lock(&conn.keepalive))?;
        // Without the extra tick of `hold_delay`: what is left of the hold time itself.
        wheel
            .remaining(handle)
            .map(|left| left.saturating_sub(self.config.tick))
    }
}
