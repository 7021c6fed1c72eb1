//! What is not known about a parameter: an epistemic distribution on a time-valued
//! parameter's mean (docs/MODEL-SPEC-extensions.md, "uncertain").
//!
//! A model's distributions describe how durations vary from one failure or restart to the
//! next (aleatory); an [`Epistemic`] law says how sure we are of the distribution's mean.
//! Two laws, the two of probabilistic risk assessment (NUREG/CR-6823 §6.2, §6.7;
//! NASA/SP-2009-569 §4.2):
//!
//! - lognormal on the mean time, by its median and `sigma` or its error factor
//!   `EF = p95 / p50` (the same law as a lognormal on the rate, median inverted);
//! - gamma on the rate `1 / mean`, `Gamma(shape, exposure)`: what counting `shape − ½`
//!   events over `exposure` gives under Jeffreys' prior, and what `hasim calibrate history`
//!   writes.
//!
//! A draw of the mean rescales the parameter's distribution (shape kept; see
//! [`crate::dist::Dist::scaled`]).

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use statrs::distribution::{ContinuousCDF, Gamma, Normal};

use crate::units::Seconds;

/// The standard normal's 95th percentile: an error factor is `exp(1.645 σ)`.
const Z95: f64 = 1.644_853_626_951_472_2;

/// An epistemic law on a parameter's mean (seconds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Epistemic {
    /// The mean time is lognormal: `ln mean ~ N(ln median, sigma²)`.
    LogNormal { median: Seconds, sigma: f64 },
    /// The rate `1 / mean` is `Gamma(shape, exposure)` (shape, rate in seconds).
    GammaRate { shape: f64, exposure: Seconds },
}

impl Epistemic {
    pub fn lognormal(median: Seconds, sigma: f64) -> Result<Self, String> {
        if !(median.is_finite() && median > 0.0) {
            return Err(format!(
                "median must be a positive duration, found {median}"
            ));
        }
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(format!("sigma must be positive, found {sigma}"));
        }
        Ok(Epistemic::LogNormal { median, sigma })
    }

    /// A lognormal by its error factor `p95 / p50` (above 1).
    pub fn lognormal_error_factor(median: Seconds, error_factor: f64) -> Result<Self, String> {
        if !(error_factor.is_finite() && error_factor > 1.0) {
            return Err(format!(
                "error_factor must be above 1 (the 95th percentile over the median), found {error_factor}"
            ));
        }
        Self::lognormal(median, error_factor.ln() / Z95)
    }

    pub fn gamma_rate(shape: f64, exposure: Seconds) -> Result<Self, String> {
        if !(shape.is_finite() && shape > 0.0) {
            return Err(format!("shape must be positive, found {shape}"));
        }
        if !(exposure.is_finite() && exposure > 0.0) {
            return Err(format!(
                "exposure must be a positive duration, found {exposure}"
            ));
        }
        Ok(Epistemic::GammaRate { shape, exposure })
    }

    /// The mean time at probability `u` of its distribution (`u` in (0, 1), clamped away
    /// from the ends): increasing in `u`.
    pub fn mean_at(&self, u: f64) -> Seconds {
        let u = u.clamp(1e-12, 1.0 - 1e-12);
        match *self {
            Epistemic::LogNormal { median, sigma } => {
                let z = Normal::standard().inverse_cdf(u);
                median * (sigma * z).exp()
            }
            Epistemic::GammaRate { shape, exposure } => {
                // A long mean is a low rate: the rate at 1 − u. Quantiles on the unit
                // scale, then divided by the exposure.
                let g = Gamma::new(shape, 1.0).expect("validated shape");
                exposure / g.inverse_cdf(1.0 - u)
            }
        }
    }

    /// The law of `f` times the mean (`f > 0`).
    pub fn scaled(&self, f: f64) -> Self {
        match *self {
            Epistemic::LogNormal { median, sigma } => Epistemic::LogNormal {
                median: median * f,
                sigma,
            },
            Epistemic::GammaRate { shape, exposure } => Epistemic::GammaRate {
                shape,
                exposure: exposure * f,
            },
        }
    }

    /// The law's name as a model file spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Epistemic::LogNormal { .. } => "lognormal",
            Epistemic::GammaRate { .. } => "gamma",
        }
    }
}

/// Serialises in the model file's form, durations in seconds.
impl Serialize for Epistemic {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(Some(3))?;
        m.serialize_entry("dist", self.name())?;
        match *self {
            Epistemic::LogNormal { median, sigma } => {
                m.serialize_entry("median", &median)?;
                m.serialize_entry("sigma", &sigma)?;
            }
            Epistemic::GammaRate { shape, exposure } => {
                m.serialize_entry("shape", &shape)?;
                m.serialize_entry("exposure", &exposure)?;
            }
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_factor_puts_the_95th_percentile_at_that_multiple_of_the_median() {
        let e = Epistemic::lognormal_error_factor(3600.0, 3.0).unwrap();
        assert!((e.mean_at(0.5) - 3600.0).abs() < 1e-6);
        assert!((e.mean_at(0.95) / 3600.0 - 3.0).abs() < 1e-9);
        assert!((3600.0 / e.mean_at(0.05) - 3.0).abs() < 1e-9);
    }

    /// Jeffreys' posterior for 2 events in 90 days is Gamma(2.5, 90 d): its rate's 5 % and
    /// 95 % points are 2.32 and 22.45 a year (NUREG/CR-6823 §6.2.2.5.1's form; the values
    /// `calibrate::rates` checks), so the mean time's 95 % and 5 % points are their
    /// inverses.
    #[test]
    fn a_gamma_rate_gives_the_inverse_quantiles_of_the_rate_as_mean_times() {
        let year = crate::units::YEAR;
        let e = Epistemic::gamma_rate(2.5, 90.0 * crate::units::DAY).unwrap();
        let per_year = |mean: f64| year / mean;
        assert!((per_year(e.mean_at(0.95)) - 2.32).abs() < 0.005);
        assert!((per_year(e.mean_at(0.05)) - 22.45).abs() < 0.005);
        let mut last = 0.0;
        for k in 1..100 {
            let m = e.mean_at(k as f64 / 100.0);
            assert!(m > last);
            last = m;
        }
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(Epistemic::lognormal_error_factor(1.0, 1.0).is_err());
        assert!(Epistemic::lognormal(0.0, 1.0).is_err());
        assert!(Epistemic::gamma_rate(0.0, 1.0).is_err());
        assert!(Epistemic::gamma_rate(1.0, -1.0).is_err());
    }
}
