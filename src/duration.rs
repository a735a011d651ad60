//! Go-style duration strings ("30s", "1m30s", "250ms"), the format the original operator stores
//! in `timeouts` and `heartbeatInterval`, and the format every duration flag accepts.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A duration that parses from and prints as a Go duration string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GoDuration(pub Duration);

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid duration {input:?}: {problem} (use a number with a unit, e.g. 500ms, 30s, 5m, 1h30m)"
)]
pub struct DurationParseError {
    /// The text that was rejected.
    pub input: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl GoDuration {
    /// The wrapped std duration.
    pub fn get(self) -> Duration {
        self.0
    }
}

impl From<Duration> for GoDuration {
    fn from(d: Duration) -> Self {
        GoDuration(d)
    }
}

const UNITS: [(&str, u128); 7] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

impl FromStr for GoDuration {
    type Err = DurationParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |problem| DurationParseError {
            input: input.to_string(),
            problem,
        };
        let s = input.trim();
        if s.is_empty() {
            return Err(err("it is empty"));
        }
        if s == "0" {
            return Ok(GoDuration(Duration::ZERO));
        }
        if s.starts_with('-') {
            return Err(err("durations cannot be negative"));
        }
        let mut rest = s.strip_prefix('+').unwrap_or(s);
        let mut total_nanos: u128 = 0;
        while !rest.is_empty() {
            let num_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            if num_len == 0 {
                return Err(err("expected a number before the unit"));
            }
            let (num, tail) = rest.split_at(num_len);
            let unit_len = tail
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(tail.len());
            if unit_len == 0 {
                return Err(err("missing unit (ns, us, ms, s, m, h)"));
            }
            let (unit, tail) = tail.split_at(unit_len);
            let scale = UNITS
                .iter()
                .find(|(u, _)| *u == unit)
                .map(|(_, n)| *n)
                .ok_or_else(|| err("unknown unit (use ns, us, ms, s, m, h)"))?;
            let (int_part, frac_part) = match num.split_once('.') {
                Some((i, f)) => (i, f),
                None => (num, ""),
            };
            if int_part.is_empty() && frac_part.is_empty() {
                return Err(err("expected a number before the unit"));
            }
            let int: u128 = if int_part.is_empty() {
                0
            } else {
                int_part.parse().map_err(|_| err("number too large"))?
            };
            let mut nanos = int
                .checked_mul(scale)
                .ok_or_else(|| err("number too large"))?;
            let mut frac_scale = scale;
            for digit in frac_part.chars() {
                frac_scale /= 10;
                let d = u128::from(digit.to_digit(10).ok_or_else(|| err("bad fraction"))?);
                // Checked: `int * scale` may already sit just below the u128 limit.
                nanos = nanos
                    .checked_add(d * frac_scale)
                    .ok_or_else(|| err("number too large"))?;
            }
            total_nanos = total_nanos
                .checked_add(nanos)
                .ok_or_else(|| err("number too large"))?;
            rest = tail;
        }
        let secs =
            u64::try_from(total_nanos / 1_000_000_000).map_err(|_| err("number too large"))?;
        // The remainder of a division by 1e9 always fits in u32.
        let sub = (total_nanos % 1_000_000_000) as u32;
        Ok(GoDuration(Duration::new(secs, sub)))
    }
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d.is_zero() {
            return f.write_str("0s");
        }
        let total_ms = d.as_millis();
        if d.as_secs() == 0 {
            if d.subsec_nanos().is_multiple_of(1_000_000) {
                return write!(f, "{total_ms}ms");
            }
            return write!(f, "{}us", d.as_micros());
        }
        let secs = d.as_secs();
        let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
        let ms = d.subsec_millis();
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if m > 0 {
            write!(f, "{m}m")?;
        }
        if s > 0 || ms > 0 {
            if ms > 0 {
                let frac = format!("{:03}", ms);
                write!(f, "{s}.{}s", frac.trim_end_matches('0'))?;
            } else {
                write!(f, "{s}s")?;
            }
        }
        Ok(())
    }
}

impl serde::Serialize for GoDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for GoDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Duration {
        s.parse::<GoDuration>().unwrap().0
    }

    #[test]
    fn parses_the_forms_the_go_operator_writes() {
        assert_eq!(parse("30s"), Duration::from_secs(30));
        assert_eq!(parse("5m"), Duration::from_secs(300));
        assert_eq!(parse("1h30m"), Duration::from_secs(5400));
        assert_eq!(parse("1m30.5s"), Duration::from_millis(90_500));
        assert_eq!(parse("250ms"), Duration::from_millis(250));
        assert_eq!(parse("1.5h"), Duration::from_secs(5400));
        assert_eq!(parse("0"), Duration::ZERO);
    }

    #[test]
    fn rejects_what_go_rejects_with_a_reason() {
        for bad in ["", "10", "s", "5x", "-5s", "1..5s", "5 m"] {
            let e = bad.parse::<GoDuration>().unwrap_err();
            assert!(e.to_string().contains("invalid duration"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_fraction_past_the_largest_number_is_too_large_not_a_panic() {
        // int * 1000 fits in u128 but adding 0.9us does not (found by the codec property test).
        let e = "340282366920938463463374607431768211.9us"
            .parse::<GoDuration>()
            .unwrap_err();
        assert_eq!(e.problem, "number too large");
    }

    #[test]
    fn prints_back_in_go_style_and_round_trips() {
        for (d, s) in [
            (Duration::from_secs(30), "30s"),
            (Duration::from_secs(300), "5m"),
            (Duration::from_secs(5400), "1h30m"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_millis(250), "250ms"),
            (Duration::ZERO, "0s"),
        ] {
            assert_eq!(GoDuration(d).to_string(), s);
            assert_eq!(parse(s), d);
        }
    }
}
