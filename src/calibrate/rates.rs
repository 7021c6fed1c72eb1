//! Failure rates from observed counts and exposure, with honest intervals: the standard
//! estimators of reliability engineering for a Poisson process (NUREG/CR-6823,
//! "Handbook of Parameter Estimation for Probabilistic Risk Assessment", §6.2;
//! NASA/SP-2009-569, "Bayesian Inference for NASA Probabilistic Risk and Reliability
//! Analysis", §4.2):
//!
//! - the maximum likelihood rate `x / T`;
//! - the Bayesian posterior `Gamma(α + x, β + T)` from a gamma prior `Gamma(α, β)` (shape,
//!   rate), by default Jeffreys' noninformative prior (`α = ½, β = 0`), with its mean and
//!   equal-tailed interval;
//! - the classical (chi-square) confidence interval `χ²(a/2; 2x) / 2T` to
//!   `χ²(1 − a/2; 2x + 2) / 2T`, which is exact for a time-truncated Poisson count.
//!
//! Rates are per second throughout; [`parse_rate`] reads a rate with a unit.

use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF, Gamma};

pub use crate::units::parse_rate;
#[cfg(test)]
use crate::units::{DAY, HOUR, YEAR};

/// A gamma prior on a rate: `shape` α and `rate` β (seconds of pseudo-exposure), so its
/// mean is `α / β`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Prior {
    pub shape: f64,
    pub rate: f64,
}

impl Prior {
    /// Jeffreys' noninformative prior for a Poisson rate: `Gamma(½, 0)` (improper).
    pub const JEFFREYS: Prior = Prior {
        shape: 0.5,
        rate: 0.0,
    };

    /// A gamma prior from its shape and its mean rate (per second).
    pub fn from_mean(shape: f64, mean_rate: f64) -> Result<Prior, String> {
        if !(shape.is_finite() && shape > 0.0) {
            return Err(format!("prior shape {shape}: must be positive"));
        }
        if !(mean_rate.is_finite() && mean_rate > 0.0) {
            return Err(format!("prior mean rate {mean_rate}: must be positive"));
        }
        Ok(Prior {
            shape,
            rate: shape / mean_rate,
        })
    }

    /// `SHAPE,MEAN_RATE` as `--prior` takes it: `1.6,4.38e-6/h` (or per second without a
    /// unit).
    pub fn parse(text: &str) -> Result<Prior, String> {
        let (shape, mean) = text.split_once(',').ok_or_else(|| {
            format!("--prior {text}: expected SHAPE,MEAN_RATE (e.g. 1.6,4.38e-6/h)")
        })?;
        let shape: f64 = shape
            .trim()
            .parse()
            .map_err(|_| format!("--prior {text}: shape \"{shape}\" is not a number"))?;
        let mean = parse_rate(mean.trim()).map_err(|e| format!("--prior {text}: {e}"))?;
        Prior::from_mean(shape, mean).map_err(|e| format!("--prior {text}: {e}"))
    }
}

/// An interval with its level.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// What `count` events over `exposure` seconds say of the rate (per second).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct RateEstimate {
    pub count: u64,
    pub exposure_seconds: f64,
    /// Maximum likelihood: `count / exposure`.
    pub mle: f64,
    /// The prior used (Jeffreys' unless given).
    pub prior: Prior,
    /// The posterior `Gamma(shape, rate)`.
    pub posterior: Prior,
    /// The posterior mean.
    pub mean: f64,
    /// The posterior's equal-tailed interval at `level`.
    pub credible: Interval,
    /// The classical chi-square confidence interval at `level`.
    pub chi_square: Interval,
    pub level: f64,
}

impl RateEstimate {
    /// Estimates from `count` events in `exposure` seconds (positive), with `prior`
    /// (Jeffreys' if `None`), intervals at `level` (e.g. 0.90).
    pub fn new(
        count: u64,
        exposure: f64,
        prior: Option<Prior>,
        level: f64,
    ) -> Result<Self, String> {
        if !(exposure.is_finite() && exposure > 0.0) {
            return Err(format!("exposure {exposure} s: must be positive"));
        }
        if !(level > 0.0 && level < 1.0) {
            return Err(format!("level {level}: must be in (0, 1)"));
        }
        let prior = prior.unwrap_or(Prior::JEFFREYS);
        let x = count as f64;
        let posterior = Prior {
            shape: prior.shape + x,
            rate: prior.rate + exposure,
        };
        // Quantiles on the unit scale (statrs' numerical inverse loses precision at rates
        // of 1e9 per second), then scaled.
        let g = Gamma::new(posterior.shape, 1.0).map_err(|e| {
            format!(
                "posterior Gamma({}, {}): {e}",
                posterior.shape, posterior.rate
            )
        })?;
        let tail = (1.0 - level) / 2.0;
        let credible = Interval {
            low: g.inverse_cdf(tail) / posterior.rate,
            high: g.inverse_cdf(1.0 - tail) / posterior.rate,
        };
        let chi = |df: f64, p: f64| {
            ChiSquared::new(df)
                .expect("positive degrees of freedom")
                .inverse_cdf(p)
        };
        let chi_square = Interval {
            low: if count == 0 {
                0.0
            } else {
                chi(2.0 * x, tail) / (2.0 * exposure)
            },
            high: chi(2.0 * x + 2.0, 1.0 - tail) / (2.0 * exposure),
        };
        Ok(RateEstimate {
            count,
            exposure_seconds: exposure,
            mle: x / exposure,
            prior,
            posterior,
            mean: posterior.shape / posterior.rate,
            credible,
            chi_square,
            level,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    /// NASA/SP-2009-569 §4.2.2 (and NUREG/CR-6823 Example 6.6's form): a gamma prior of
    /// shape 1.6 and mean 4.38e-6 /h (rate 365 000 h), updated by no failure in 200 days
    /// (4 800 h), gives a posterior Gamma(1.6, 369 800 h) with mean 4.33e-6 /h and 90 %
    /// interval 5.63e-7 to 1.10e-5 /h, the values printed there to three figures.
    #[test]
    fn a_gamma_prior_updated_by_no_failure_matches_the_published_values() {
        let prior = Prior::parse("1.6,4.38e-6/h").unwrap();
        assert!(close(prior.rate / HOUR, 365_296.0, 1e-3), "{prior:?}");
        let prior = Prior {
            shape: 1.6,
            rate: 365_000.0 * HOUR,
        };
        let e = RateEstimate::new(0, 200.0 * DAY, Some(prior), 0.90).unwrap();
        let h = |r: f64| r * HOUR;
        assert!(close(e.posterior.rate / HOUR, 369_800.0, 1e-12));
        assert!(close(h(e.mean), 4.33e-6, 5e-3), "{}", h(e.mean));
        assert!(
            close(h(e.credible.low), 5.63e-7, 5e-3),
            "{}",
            h(e.credible.low)
        );
        assert!(
            close(h(e.credible.high), 1.10e-5, 5e-3),
            "{}",
            h(e.credible.high)
        );
        assert_eq!(e.mle, 0.0);
    }

    /// Two events in 90 days: Jeffreys' posterior Gamma(2.5, 90 d) has mean 10.14 /year and
    /// 90 % interval 2.32 to 22.45 /year; the chi-square interval is 1.44 to 25.53 /year
    /// (NUREG/CR-6823 §6.2.1.2–6.2.2.5: χ²(0.05; 4) = 0.7107, χ²(0.95; 6) = 12.59; the
    /// Jeffreys bounds are χ²(0.05; 5)/2T and χ²(0.95; 5)/2T, 1.145 and 11.07).
    #[test]
    fn jeffreys_and_chi_square_for_two_events_in_ninety_days() {
        let e = RateEstimate::new(2, 90.0 * DAY, None, 0.90).unwrap();
        let y = |r: f64| r * YEAR;
        assert!(close(y(e.mean), 10.14, 1e-3), "{}", y(e.mean));
        assert!(
            close(y(e.credible.low), 2.32, 2.5e-3),
            "{}",
            y(e.credible.low)
        );
        assert!(
            close(y(e.credible.high), 22.45, 1e-3),
            "{}",
            y(e.credible.high)
        );
        assert!(
            close(y(e.chi_square.low), 1.44, 2.5e-3),
            "{}",
            y(e.chi_square.low)
        );
        assert!(
            close(y(e.chi_square.high), 25.53, 1e-3),
            "{}",
            y(e.chi_square.high)
        );
        assert!(close(y(e.mle), 2.0 * 365.0 / 90.0, 1e-12));
        // The Jeffreys bounds are chi-square quantiles with 2x + 1 degrees of freedom.
        let chi5 = ChiSquared::new(5.0).unwrap();
        let t = 90.0 * DAY;
        assert!(close(
            e.credible.low,
            chi5.inverse_cdf(0.05) / (2.0 * t),
            1e-6
        ));
        assert!(close(
            e.credible.high,
            chi5.inverse_cdf(0.95) / (2.0 * t),
            1e-6
        ));
    }

    #[test]
    fn no_event_has_a_zero_lower_bound_and_a_finite_upper_one() {
        let e = RateEstimate::new(0, YEAR, None, 0.90).unwrap();
        assert_eq!(e.chi_square.low, 0.0);
        // χ²(0.95; 2) / 2T = −ln(0.05) / T.
        assert!(close(e.chi_square.high, -(0.05f64.ln()) / YEAR, 1e-9));
        assert!(e.credible.low > 0.0 && e.credible.high < e.chi_square.high);
        assert!(close(e.mean, 0.5 / YEAR, 1e-12));
    }

    #[test]
    fn bad_input_is_refused() {
        assert!(
            RateEstimate::new(1, 0.0, None, 0.9)
                .unwrap_err()
                .contains("must be positive")
        );
        assert!(RateEstimate::new(1, -5.0, None, 0.9).is_err());
        assert!(RateEstimate::new(1, 5.0, None, 1.0).is_err());
        for bad in [
            "0,1e-6",
            "-1,1e-6",
            "1.6,0/h",
            "1.6,-2/h",
            "1.6",
            "x,1",
            "1.6,3/week",
        ] {
            assert!(Prior::parse(bad).is_err(), "{bad}");
        }
        assert!(close(parse_rate("2/y").unwrap(), 2.0 / YEAR, 1e-12));
        assert!(close(parse_rate("1e-7").unwrap(), 1e-7, 1e-12));
    }
}
