//! Chapter 8 — keep-alive: noticing a peer that vanished without closing.
//!
//! A peer whose machine crashed, or whose network went away, never sends a FIN: its
//! connection would stay in our DB forever. The course's answer: each client has a hold
//! timer; any bytes from the client restart it; if it expires, the client is considered dead
//! and disconnected. The server also sends its own keep-alive every interval, so a quiet but
//! healthy peer sees us alive too. Defaults as in the course: interval 10 s, hold 15 s.
//!
//! What changes in Rust: the timers live on our own [`WheelTimer`]; an expiring timer does
//! not touch the client itself, it asks the controller to disconnect it (services talk
//! through the controller), and it holds only a `Weak` reference to the server so a pending
//! timer never keeps a stopped server alive.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::controller::{lock, Connection, DisconnectReason, Shared};
use crate::state::ServerFlags;
use crate::wheel_timer::WheelTimer;

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
        // 1024 slots of 100 ms: one revolution is ~100 s, so the usual delays need no laps.
        let wheel = WheelTimer::try_start(self.config.tick, 1024)?;
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
    /// Starts a new client's hold timer, and its periodic keep-alive if the server sends them.
    pub(crate) fn arm(&self, shared: &Arc<Shared>, conn: &Arc<Connection>) {
        let Some(wheel) = self.wheel() else { return };
        let id = conn.client.id;
        let server: Weak<Shared> = Arc::downgrade(shared);
        let handle = wheel.schedule(self.hold_delay(), move || {
            let Some(shared) = server.upgrade() else {
                return;
            };
            if shared.flags().contains(ServerFlags::NOT_LISTENING) {
                // We are not reading, so silence proves nothing: give the client another hold.
                if let Some(conn) = shared.db.get(id) {
                    if let Some(ka) = &shared.keepalive {
                        ka.refresh(&conn);
                    }
                }
                return;
            }
            shared.close_client(id, DisconnectReason::KeepAliveExpired);
        });
        *lock(&conn.keepalive) = Some(handle);
        if let Some(interval) = self.config.interval {
            let server = Arc::downgrade(shared);
            let Ok(frame) = shared.config.framing.encode(&[]) else {
                return; // this framing has no empty message to send as a keep-alive
            };
            if frame.is_empty() {
                return;
            }
            let sender = wheel.schedule_periodic(interval, move || {
                let Some(shared) = server.upgrade() else {
                    return;
                };
                if let Some(conn) = shared.db.get(id) {
                    if shared.queue_output(&conn, &frame).is_ok() {
                        conn.stats.keepalives_out.fetch_add(1, Ordering::Relaxed);
                    }
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
