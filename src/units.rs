//! Units: durations are seconds as `f64` everywhere inside hasim.
//!
//! A duration in a model is a string with a unit (`"500us"`, `"250ms"`, `"5s"`, `"3m"`,
//! `"1.5h"`, `"30d"`, `"2w"`, `"1y"`, a year being 365 days; parts add up: `"1h30m"`) or
//! a bare number of seconds.

/// A length of time in seconds. Inside the simulator every time and duration is this.
pub type Seconds = f64;

pub const MINUTE: Seconds = 60.0;
pub const HOUR: Seconds = 3600.0;
pub const DAY: Seconds = 86_400.0;
pub const WEEK: Seconds = 7.0 * DAY;
/// The year of `1 - X/Y`: 365 days.
pub const YEAR: Seconds = 365.0 * DAY;

/// Parses a duration string such as `"1.5h"` into seconds; several parts add up, as in
/// Go's and Kubernetes' durations (`"1h30m"`, `"2m30s"`, `"1d12h"`), and the units run
/// from `ns`, `us` (or `µs`) and `ms` to `s`, `m` (or `min`), `h`, `d`, `w` and `y`. A
/// string without a unit is refused, so that `"5"` is never silently read as 5 seconds or
/// 5 minutes.
pub fn parse_duration(text: &str) -> Result<Seconds, String> {
    let t = text.trim();
    if !t.contains(|c: char| c.is_alphabetic()) {
        return Err(format!(
            "expected a duration with a unit like \"5s\", found \"{text}\""
        ));
    }
    let bad = || format!("expected a duration like \"5s\" or \"1h30m\", found \"{text}\"");
    let mut rest = t;
    let mut total = 0.0;
    while !rest.is_empty() {
        // The number: digits, a point, a sign first, an exponent (`1e-3`) when a digit
        // or a signed digit follows its `e`.
        let b = rest.as_bytes();
        let mut k = 0;
        if matches!(b.first(), Some(b'-' | b'+')) && total == 0.0 && rest.len() == t.len() {
            k = 1;
        }
        while k < b.len() && (b[k].is_ascii_digit() || b[k] == b'.') {
            k += 1;
        }
        if k < b.len() && matches!(b[k], b'e' | b'E') {
            let after = &b[k + 1..];
            let digits = match after.first() {
                Some(b'+' | b'-') => after.get(1).is_some_and(u8::is_ascii_digit),
                Some(c) => c.is_ascii_digit(),
                None => false,
            };
            if digits {
                k += 2;
                while k < b.len() && b[k].is_ascii_digit() {
                    k += 1;
                }
            }
        }
        let (number, after) = rest.split_at(k);
        let after = after.trim_start();
        let unit_len = after
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let factor = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" | "min" => MINUTE,
            "h" => HOUR,
            "d" => DAY,
            "w" => WEEK,
            "y" => YEAR,
            "" => return Err(bad()),
            other => {
                return Err(format!(
                    "unknown unit \"{other}\" in \"{text}\" (use ns, us, ms, s, m, h, d, w or y)"
                ));
            }
        };
        let value: f64 = number.trim().parse().map_err(|_| bad())?;
        if !value.is_finite() {
            return Err(format!("duration \"{text}\" is not finite"));
        }
        total += value * factor;
        rest = next.trim_start();
    }
    if !total.is_finite() {
        return Err(format!("duration \"{text}\" is not finite"));
    }
    Ok(total)
}

/// A rate with an optional unit: `4.38e-6/h`, `2/y`, `0.1/d`, `1e-7` (per second).
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let (num, per) = match text.split_once('/') {
        Some((n, u)) => {
            let per = match u.trim() {
                "s" => 1.0,
                "m" | "min" => MINUTE,
                "h" => HOUR,
                "d" => DAY,
                "y" | "yr" | "year" => YEAR,
                other => {
                    return Err(format!(
                        "rate unit \"/{other}\": use /s, /min, /h, /d or /y"
                    ));
                }
            };
            (n.trim(), per)
        }
        None => (text.trim(), 1.0),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("rate \"{text}\": \"{num}\" is not a number"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("rate \"{text}\": must be a non-negative number"));
    }
    Ok(v / per)
}

/// A time into a history as days and a clock, to the millisecond: `12d 03:04:05.120`
/// (the days left out below one day).
pub fn format_offset(t: Seconds) -> String {
    let ms = (t.max(0.0) * 1e3).round() as u64;
    let (days, rest) = (ms / 86_400_000, ms % 86_400_000);
    let (h, m, s, frac) = (
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000,
    );
    if days > 0 {
        format!("{days}d {h:02}:{m:02}:{s:02}.{frac:03}")
    } else {
        format!("{h:02}:{m:02}:{s:02}.{frac:03}")
    }
}

/// The instant `t` seconds after `start` in RFC 3339, UTC, to the millisecond like
/// [`format_offset`] (`2027-01-12T03:04:05.12Z`); empty where it would pass the year 9999.
pub fn rfc3339_after(start: jiff::Timestamp, t: Seconds) -> String {
    let ms = (t * 1e3).round();
    if !ms.is_finite() || ms.abs() > 1e15 {
        return String::new();
    }
    start
        .checked_add(jiff::SignedDuration::from_millis(ms as i64))
        .map_or(String::new(), |at| at.to_string())
}

/// Formats seconds for people: the largest unit that keeps the number at least 1.
pub fn format_duration(s: Seconds) -> String {
    let a = s.abs();
    let (v, unit) = if a == 0.0 {
        return "0s".to_string();
    } else if a < 1.0 {
        (s * 1e3, "ms")
    } else if a < MINUTE {
        (s, "s")
    } else if a < HOUR {
        (s / MINUTE, "m")
    } else if a < DAY {
        (s / HOUR, "h")
    } else if a < YEAR {
        (s / DAY, "d")
    } else {
        (s / YEAR, "y")
    };
    let digits = if v.abs() >= 100.0 {
        0
    } else if v.abs() >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.digits$}{unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_after_a_start_in_rfc3339() {
        let start: jiff::Timestamp = "2027-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(rfc3339_after(start, 0.0), "2027-01-01T00:00:00Z");
        assert_eq!(
            rfc3339_after(start, 11.0 * DAY + 3.0 * HOUR + 4.0 * MINUTE + 5.1204),
            "2027-01-12T03:04:05.12Z"
        );
        assert_eq!(
            rfc3339_after(jiff::Timestamp::UNIX_EPOCH, YEAR),
            "1971-01-01T00:00:00Z"
        );
        assert_eq!(rfc3339_after(start, 1e4 * YEAR), "");
        assert_eq!(rfc3339_after(start, f64::INFINITY), "");
    }

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration("250ms").unwrap(), 0.25);
        assert_eq!(parse_duration("5s").unwrap(), 5.0);
        assert_eq!(parse_duration("3m").unwrap(), 180.0);
        assert_eq!(parse_duration("1.5h").unwrap(), 5400.0);
        assert_eq!(parse_duration("30d").unwrap(), 2_592_000.0);
        assert_eq!(parse_duration("2w").unwrap(), 1_209_600.0);
        assert_eq!(parse_duration("1y").unwrap(), 31_536_000.0);
        assert_eq!(parse_duration("500us").unwrap(), 500e-6);
        assert_eq!(parse_duration("500µs").unwrap(), 500e-6);
        assert_eq!(parse_duration("20ns").unwrap(), 20e-9);
        assert_eq!(parse_duration("2.5e-3s").unwrap(), 2.5e-3);
        assert_eq!(parse_duration("5 s").unwrap(), 5.0);
        assert_eq!(parse_duration("-5s").unwrap(), -5.0);
    }

    #[test]
    fn parts_add_up_as_kubernetes_durations_do() {
        assert_eq!(parse_duration("1h30m").unwrap(), 5400.0);
        assert_eq!(parse_duration("2m30s").unwrap(), 150.0);
        assert_eq!(parse_duration("1d12h").unwrap(), 1.5 * DAY);
        assert_eq!(parse_duration("1h 30m").unwrap(), 5400.0);
        assert_eq!(parse_duration("1m0.5s").unwrap(), 60.5);
        for bad in ["1h30", "1h-30m", "h30m", "1h30parsecs", "1hh"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_missing_or_unknown_units() {
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("fives").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn formats_for_people() {
        assert_eq!(format_duration(0.0), "0s");
        assert_eq!(format_duration(0.25), "250ms");
        assert_eq!(format_duration(90.0), "1.50m");
        assert_eq!(format_duration(2.0 * DAY), "2.00d");
    }
}
