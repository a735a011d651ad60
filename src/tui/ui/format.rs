//! Text and colour for ages, countdowns and health, shared by the panels. Every judgement has a
//! symbol as well as a colour, so it reads the same without colour.

use crate::ops::status::ClusterView;
use crate::store::Health;
use chrono::{DateTime, Utc};
use ratatui::style::{Color, Modifier, Style};

/// `42s`, `3m05s`, `2h03m`, `4d02h`; negative spans (a clock ahead of ours) read `+3s`.
pub fn span(seconds: i64) -> String {
    if seconds < 0 {
        return format!("+{}", span(-seconds));
    }
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m{s:02}s"),
        (0, _, _) => format!("{h}h{m:02}m"),
        _ => format!("{d}d{h:02}h"),
    }
}

/// `span` with ` ago`, from `then` to `now`.
pub fn ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!("{} ago", span((now - then).num_seconds()))
}

/// How fresh a heartbeat is, as a share of the group's heartbeat timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Under half the timeout.
    Fresh,
    /// Between half the timeout and the timeout: one or two beats missed.
    Late,
    /// Past the timeout: presumed dead.
    Stale,
    /// No heartbeat was ever written.
    Missing,
}

impl Freshness {
    /// Judges `last` against `timeout` at `now`.
    pub fn of(
        last: Option<DateTime<Utc>>,
        timeout: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Self {
        let Some(last) = last else {
            return Freshness::Missing;
        };
        let age_ms = (now - last).num_milliseconds().max(0) as u128;
        let timeout_ms = timeout.as_millis().max(1);
        if age_ms * 2 < timeout_ms {
            Freshness::Fresh
        } else if age_ms <= timeout_ms {
            Freshness::Late
        } else {
            Freshness::Stale
        }
    }

    /// The symbol shown before the age.
    pub fn symbol(self) -> &'static str {
        match self {
            Freshness::Fresh => "●",
            Freshness::Late => "◐",
            Freshness::Stale => "✗",
            Freshness::Missing => "?",
        }
    }

    /// Its colour.
    pub fn style(self) -> Style {
        match self {
            Freshness::Fresh => Style::new().fg(Color::Green),
            Freshness::Late => Style::new().fg(Color::Yellow),
            Freshness::Stale | Freshness::Missing => {
                Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
            }
        }
    }
}

/// A cluster's health word with its symbol and colour; `no record` when it never reported.
pub fn health(health: Option<Health>) -> (String, Style) {
    match health {
        Some(Health::Ok) => ("✓ OK".into(), Style::new().fg(Color::Green)),
        Some(Health::Degraded) => ("! DEGRADED".into(), Style::new().fg(Color::Yellow)),
        Some(Health::Error) => ("✗ ERROR".into(), Style::new().fg(Color::Red)),
        None => ("? no record".into(), Style::new().fg(Color::Red)),
    }
}

/// A group's health summary: `✓ 3/3`, `! 2/3`, `✗ 0/3` healthy clusters, judged live.
pub fn group_health(
    clusters: &[ClusterView],
    timeout: std::time::Duration,
    now: DateTime<Utc>,
) -> (String, Style) {
    let healthy = clusters
        .iter()
        .filter(|c| {
            c.health == Some(Health::Ok)
                && matches!(
                    Freshness::of(c.last_heartbeat, timeout, now),
                    Freshness::Fresh | Freshness::Late
                )
        })
        .count();
    let total = clusters.len();
    let (symbol, color) = if healthy == total {
        ("✓", Color::Green)
    } else if healthy == 0 {
        ("✗", Color::Red)
    } else {
        ("!", Color::Yellow)
    };
    (
        format!("{symbol} {healthy}/{total}"),
        Style::new().fg(color),
    )
}

/// Cuts `text` to `width` characters, marking the cut with `…`.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(s: u32) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + i64::from(s), 0).unwrap()
    }

    #[test]
    fn spans_read_like_kubectl_ages() {
        assert_eq!(span(7), "7s");
        assert_eq!(span(185), "3m05s");
        assert_eq!(span(7380), "2h03m");
        assert_eq!(span(2 * 86_400 + 3600), "2d01h");
        assert_eq!(span(-3), "+3s");
    }

    #[test]
    fn freshness_turns_late_at_half_the_timeout_and_stale_past_it() {
        let t = Duration::from_secs(60);
        assert_eq!(Freshness::of(Some(at(0)), t, at(29)), Freshness::Fresh);
        assert_eq!(Freshness::of(Some(at(0)), t, at(30)), Freshness::Late);
        assert_eq!(Freshness::of(Some(at(0)), t, at(60)), Freshness::Late);
        assert_eq!(Freshness::of(Some(at(0)), t, at(61)), Freshness::Stale);
        assert_eq!(Freshness::of(None, t, at(0)), Freshness::Missing);
    }

    #[test]
    fn every_freshness_has_a_distinct_symbol() {
        let all = [
            Freshness::Fresh,
            Freshness::Late,
            Freshness::Stale,
            Freshness::Missing,
        ];
        let symbols: std::collections::HashSet<_> = all.iter().map(|f| f.symbol()).collect();
        assert_eq!(symbols.len(), all.len());
    }
}
