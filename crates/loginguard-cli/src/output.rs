//! Plain-text tables and times for people; JSON is built by each command.

use std::time::{Duration, SystemTime};

/// A table with a header row, printed with columns padded to fit.
#[derive(Debug)]
pub(crate) struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(header: &[&str]) -> Table {
        Table {
            rows: vec![header.iter().map(|h| (*h).to_owned()).collect()],
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub(crate) fn render(&self) -> String {
        let cols = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..cols)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    let pad = widths[c].saturating_sub(cell.chars().count()) + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `2025-03-01T12:00:00Z`.
pub(crate) fn time(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// `2025-03-01T12:00:00Z (in 14 minutes 3 seconds)`.
pub(crate) fn until(t: SystemTime, now: SystemTime) -> String {
    match t.duration_since(now) {
        Ok(d) if d > Duration::ZERO => {
            format!("{} (in {})", time(t), loginguard::policy::format_wait(d))
        }
        _ => format!("{} (ended)", time(t)),
    }
}

/// A value or `-`.
pub(crate) fn or_dash(v: Option<&str>) -> String {
    match v {
        Some("") => "\"\"".to_owned(),
        Some(v) => v.to_owned(),
        None => "-".to_owned(),
    }
}

/// `1 record`, `2 records`.
pub(crate) fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A duration flag value, kept as typed for messages.
#[derive(Debug, Clone)]
pub(crate) struct Span {
    /// As typed: `30d`.
    pub(crate) text: String,
    /// Parsed.
    pub(crate) duration: Duration,
}

impl Span {
    /// The time this long before `now`.
    pub(crate) fn before(&self, now: SystemTime) -> SystemTime {
        now.checked_sub(self.duration)
            .unwrap_or(SystemTime::UNIX_EPOCH)
    }
}

/// Parses a duration flag value (`90s`, `15m`, `1h`, `30d`, `1h 30m`).
pub(crate) fn parse_span(s: &str) -> Result<Span, String> {
    loginguard::policy::parse_duration(s)
        .filter(|d| !d.is_zero())
        .map(|duration| Span {
            text: s.trim().to_owned(),
            duration,
        })
        .ok_or_else(|| "expected a duration like 90s, 15m, 1h, 30d or \"1h 30m\"".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up() {
        let mut t = Table::new(&["KEY", "N"]);
        t.row(vec!["login/ip=10.0.0.1".into(), "3".into()]);
        assert_eq!(t.render(), "KEY                N\nlogin/ip=10.0.0.1  3\n");
    }
}
