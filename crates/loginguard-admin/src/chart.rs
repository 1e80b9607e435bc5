//! The dashboard's chart: failures per minute over the last hour, counted
//! from failure-log times and drawn as an inline SVG bar chart.

use std::time::{Duration, SystemTime};

use maud::{html, Markup};

/// Minutes shown.
pub(crate) const MINUTES: usize = 60;

/// Counts `times` per minute over the hour before `now`. Index 0 is the
/// oldest minute (60 to 59 minutes ago), index 59 the last minute. Times
/// in the future count in the last minute; older ones are ignored.
pub(crate) fn per_minute(
    times: impl IntoIterator<Item = SystemTime>,
    now: SystemTime,
) -> [u32; MINUTES] {
    let mut buckets = [0u32; MINUTES];
    for t in times {
        let age = now.duration_since(t).unwrap_or(Duration::ZERO);
        let minute = usize::try_from(age.as_secs() / 60).unwrap_or(usize::MAX);
        if minute < MINUTES {
            buckets[MINUTES - 1 - minute] += 1;
        }
    }
    buckets
}

const WIDTH: u32 = 600;
const HEIGHT: u32 = 100;

/// The bar chart of `buckets` (as from [`per_minute`]). The SVG stretches
/// to the width of the page at a fixed height (so it stays legible on a
/// phone); its labels are HTML around it.
pub(crate) fn svg(buckets: &[u32; MINUTES]) -> Markup {
    let max = buckets.iter().copied().max().unwrap_or(0);
    let scale_max = nice_ceiling(max);
    let plot = f64::from(HEIGHT);
    let slot = f64::from(WIDTH) / MINUTES as f64;
    let total: u32 = buckets.iter().sum();
    let label = format!(
        "Failures per minute over the last hour: {total} in all, at most {max} in one minute"
    );
    html! {
        figure.chart {
            div.plot {
                span.y.top { (scale_max) }
                span.y.mid { (fmt(f64::from(scale_max) / 2.0)) }
                svg viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) preserveAspectRatio="none"
                    role="img" aria-label=(label) xmlns="http://www.w3.org/2000/svg" {
                    title { (label) }
                    @for frac in [0.0f64, 0.5, 1.0] {
                        @let y = (plot * (1.0 - frac)).clamp(0.5, plot - 0.5);
                        line.grid x1="0" x2=(WIDTH) y1=(fmt(y)) y2=(fmt(y))
                            vector-effect="non-scaling-stroke" {}
                    }
                    @for (i, n) in buckets.iter().enumerate() {
                        @if *n > 0 {
                            @let h = (plot * f64::from(*n) / f64::from(scale_max)).max(1.0);
                            @let ago = MINUTES - i;
                            rect.bar x=(fmt(i as f64 * slot + 1.0)) y=(fmt(plot - h))
                                width=(fmt(slot - 2.0)) height=(fmt(h)) {
                                title { (n) " failure" @if *n != 1 { "s" } ", " (ago) " min ago" }
                            }
                        }
                    }
                }
            }
            figcaption.axis {
                span { "60 min ago" } span { "30 min ago" } span { "now" }
            }
        }
    }
}

/// The smallest of 1, 2, 5, 10, 20, 50, ... at least `n` (and at least 1).
fn nice_ceiling(n: u32) -> u32 {
    let mut step = 1u32;
    loop {
        for m in [1, 2, 5] {
            let v = step.saturating_mul(m);
            if v >= n || v == u32::MAX {
                return v;
            }
        }
        step = step.saturating_mul(10);
    }
}

fn fmt(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_fall_in_their_minute() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let ago = |s: u64| now - Duration::from_secs(s);
        let b = per_minute(
            [
                ago(0),
                ago(59),
                ago(60),
                ago(61),
                ago(3599),
                ago(3600),
                ago(9999),
            ],
            now,
        );
        assert_eq!(b[59], 2);
        assert_eq!(b[58], 2);
        assert_eq!(b[0], 1);
        assert_eq!(b.iter().sum::<u32>(), 5);
        let future = per_minute([now + Duration::from_secs(5)], now);
        assert_eq!(future[59], 1);
    }

    #[test]
    fn chart_has_a_bar_per_busy_minute() {
        let mut b = [0u32; MINUTES];
        b[10] = 3;
        b[59] = 7;
        let svg = svg(&b).into_string();
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("10 in all"), "{svg}");
        assert!(svg.contains("7 failures, 1 min ago"));
        assert!(
            svg.contains("<span class=\"y top\">10</span>"),
            "scale tops at 10: {svg}"
        );
    }

    #[test]
    fn empty_chart_draws_no_bars() {
        let svg = svg(&[0; MINUTES]).into_string();
        assert!(!svg.contains("<rect"));
        assert!(svg.contains("0 in all"));
    }

    #[test]
    fn scale_is_round() {
        assert_eq!(nice_ceiling(0), 1);
        assert_eq!(nice_ceiling(3), 5);
        assert_eq!(nice_ceiling(7), 10);
        assert_eq!(nice_ceiling(11), 20);
        assert_eq!(nice_ceiling(200), 200);
    }
}
