//! Figures of a round, and the table that sums up the rounds of every variant.
//!
//! Rounds of different variants are interleaved, so a machine that slows down for a while
//! (another process, CPU frequency) spreads its harm over every variant instead of landing
//! on one. Each column shows the median over rounds; msgs/s also shows its min–max, so a
//! reader sees how far apart rounds were before trusting a difference.

use std::time::Duration;

/// What one round of one variant measured.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    /// Messages (echoed frames, 64-byte units, round trips, flood frames) per second of the
    /// measured window.
    pub rate: f64,
    /// Round-trip latency percentiles and maximum, in microseconds.
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    /// Round trips per second of the watcher (flood only: `rate` is the flood's).
    pub watcher_rate: Option<f64>,
}

impl Figures {
    /// `count` messages in `window`, with the round trips' latencies in nanoseconds.
    pub fn from(count: u64, window: Duration, mut latencies: Vec<u64>) -> Figures {
        latencies.sort_unstable();
        let at = |q: f64| {
            latencies
                .get(((latencies.len().max(1) - 1) as f64 * q).round() as usize)
                .map_or(f64::NAN, |&ns| ns as f64 / 1000.0)
        };
        Figures {
            rate: count as f64 / window.as_secs_f64(),
            p50: at(0.5),
            p99: at(0.99),
            max: at(1.0),
            watcher_rate: None,
        }
    }

    pub fn line(&self) -> String {
        let watcher = self
            .watcher_rate
            .map_or(String::new(), |r| format!(", watcher {r:.0} round trips/s"));
        let unit = if self.watcher_rate.is_some() {
            "flood frames/s"
        } else {
            "msgs/s"
        };
        format!(
            "{:>9.0} {unit}  p50 {:>6.0} µs  p99 {:>6.0} µs  max {:>6.0} µs{watcher}",
            self.rate, self.p50, self.p99, self.max
        )
    }
}

/// One variant's rounds in a scenario, and why it stopped if it failed.
pub struct Row {
    pub name: String,
    pub rounds: Vec<Figures>,
    pub failure: Option<String>,
    /// Server RSS growth per idle connection, bytes (idle only).
    pub rss_per_idle: Option<f64>,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    match xs.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => xs[n / 2],
        n => (xs[n / 2 - 1] + xs[n / 2]) / 2.0,
    }
}

/// Prints the scenario's table: one row per variant.
pub fn print_table(rows: &[Row], idle: bool, flood: bool) {
    let rate_name = if flood { "flood frames/s" } else { "msgs/s" };
    let mut head = format!(
        "{:<8} | {rate_name:>14} | {:>21} | {:>7} | {:>7} | {:>7}",
        "variant", "min–max", "p50 µs", "p99 µs", "max µs"
    );
    if flood {
        head += " | watcher rt/s";
    }
    if idle {
        head += " | RSS B/idle conn";
    }
    tcpserverlib::say!("{head}");
    for row in rows {
        let of = |f: fn(&Figures) -> f64| row.rounds.iter().map(f).collect::<Vec<_>>();
        let rates = of(|f| f.rate);
        let lo = rates.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = rates.iter().copied().fold(0.0, f64::max);
        let mut line = if row.rounds.is_empty() {
            format!(
                "{:<8} | {:>14} | {:>21} | {:>7} | {:>7} | {:>7}",
                row.name, "-", "-", "-", "-", "-"
            )
        } else {
            format!(
                "{:<8} | {:>14.0} | {:>21} | {:>7.0} | {:>7.0} | {:>7.0}",
                row.name,
                median(rates),
                format!("{lo:.0}–{hi:.0}"),
                median(of(|f| f.p50)),
                median(of(|f| f.p99)),
                of(|f| f.max).into_iter().fold(0.0, f64::max),
            )
        };
        if flood {
            let w = median(of(|f| f.watcher_rate.unwrap_or(f64::NAN)));
            line += &format!(" | {w:>12.0}");
        }
        if idle {
            line += &row
                .rss_per_idle
                .map_or(format!(" | {:>15}", "-"), |b| format!(" | {b:>15.0}"));
        }
        if let Some(why) = &row.failure {
            line += &format!("  FAIL: {why}");
        }
        tcpserverlib::say!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Percentiles are read from the sorted latencies; the rate is per second of the window.
    #[test]
    fn figures_from_latencies() {
        let ns: Vec<u64> = (1..=100).rev().map(|us| us * 1000).collect();
        let f = Figures::from(300, Duration::from_secs(3), ns);
        assert_eq!((f.rate, f.max), (100.0, 100.0));
        assert!((f.p50 - 51.0).abs() < 1.01 && (f.p99 - 99.0).abs() < 1.01);
    }

    /// The median of an even count is the mean of the middle two.
    #[test]
    fn median_of_rounds() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0]), 2.5);
    }
}
