//! Distributions of durations: sampling, moments and distribution functions.
//!
//! Every value is in seconds. A [`Dist`] is a validated family with its parameters plus a
//! `shift` added to every draw; it is built once from the model (see `model`) and then only
//! sampled, so nothing here can fail at simulation time. Sampling uses `rand_distr`'s
//! ziggurat and Marsaglia–Tsang samplers; distribution functions come from `statrs`.
//!
//! Parameterisations (the model file's forms are all reduced to these):
//! - exponential: `mean`;
//! - lognormal: `mu`, `sigma` of the underlying normal (ln-seconds);
//! - Weibull: `shape` k, `scale` λ, mean λ·Γ(1 + 1/k);
//! - gamma: `shape` k, `scale` θ, mean k·θ;
//! - uniform on `[min, max]`; fixed `value`; empirical: a draw picks one sample uniformly.

use std::sync::Arc;

use rand::Rng;
use rand_distr::{Distribution, Exp1, Gamma, LogNormal, Weibull};
use serde::ser::{Serialize, SerializeMap, Serializer};
use statrs::distribution::ContinuousCDF;

use crate::epistemic::Epistemic;
use crate::units::Seconds;

/// A distribution family with its parameters, ready to sample.
#[derive(Clone, Debug)]
pub enum Family {
    Fixed {
        value: Seconds,
    },
    Exponential {
        mean: Seconds,
    },
    Uniform {
        min: Seconds,
        max: Seconds,
    },
    LogNormal {
        mu: f64,
        sigma: f64,
        sampler: LogNormal<f64>,
    },
    Weibull {
        shape: f64,
        scale: Seconds,
        sampler: Weibull<f64>,
    },
    Gamma {
        shape: f64,
        scale: Seconds,
        sampler: Gamma<f64>,
    },
    Empirical {
        samples: Arc<[Seconds]>,
    },
}

/// A distribution of durations in seconds: a family plus a constant `shift`.
#[derive(Clone, Debug)]
pub struct Dist {
    pub family: Family,
    pub shift: Seconds,
    /// What is not known about the mean (`uncertain`), for `run --uncertainty`; draws
    /// ignore it.
    pub uncertain: Option<Box<Epistemic>>,
}

/// Why a set of parameters does not make a distribution.
pub type ParamError = String;

impl Dist {
    pub fn fixed(value: Seconds) -> Self {
        Dist {
            family: Family::Fixed { value },
            shift: 0.0,
            uncertain: None,
        }
    }

    pub fn exponential(mean: Seconds) -> Result<Self, ParamError> {
        positive("mean", mean)?;
        Ok(Dist {
            family: Family::Exponential { mean },
            shift: 0.0,
            uncertain: None,
        })
    }

    pub fn uniform(min: Seconds, max: Seconds) -> Result<Self, ParamError> {
        if !(min.is_finite() && max.is_finite() && min >= 0.0 && max >= min) {
            return Err(format!(
                "uniform needs 0 <= min <= max, found min {min}, max {max}"
            ));
        }
        Ok(Dist {
            family: Family::Uniform { min, max },
            shift: 0.0,
            uncertain: None,
        })
    }

    pub fn lognormal(mu: f64, sigma: f64) -> Result<Self, ParamError> {
        positive("sigma", sigma)?;
        if !mu.is_finite() {
            return Err(format!("mu must be finite, found {mu}"));
        }
        let sampler = LogNormal::new(mu, sigma).map_err(|e| e.to_string())?;
        Ok(Dist {
            family: Family::LogNormal { mu, sigma, sampler },
            shift: 0.0,
            uncertain: None,
        })
    }

    pub fn lognormal_median(median: Seconds, sigma: f64) -> Result<Self, ParamError> {
        positive("median", median)?;
        Self::lognormal(median.ln(), sigma)
    }

    pub fn lognormal_mean_cv(mean: Seconds, cv: f64) -> Result<Self, ParamError> {
        positive("mean", mean)?;
        positive("cv", cv)?;
        let s2 = (1.0 + cv * cv).ln();
        Self::lognormal(mean.ln() - s2 / 2.0, s2.sqrt())
    }

    pub fn weibull(shape: f64, scale: Seconds) -> Result<Self, ParamError> {
        positive("shape", shape)?;
        positive("scale", scale)?;
        let sampler = Weibull::new(scale, shape).map_err(|e| e.to_string())?;
        Ok(Dist {
            family: Family::Weibull {
                shape,
                scale,
                sampler,
            },
            shift: 0.0,
            uncertain: None,
        })
    }

    pub fn weibull_mean(shape: f64, mean: Seconds) -> Result<Self, ParamError> {
        positive("shape", shape)?;
        positive("mean", mean)?;
        Self::weibull(
            shape,
            mean / statrs::function::gamma::gamma(1.0 + 1.0 / shape),
        )
    }

    pub fn gamma(shape: f64, scale: Seconds) -> Result<Self, ParamError> {
        positive("shape", shape)?;
        positive("scale", scale)?;
        let sampler = Gamma::new(shape, scale).map_err(|e| e.to_string())?;
        Ok(Dist {
            family: Family::Gamma {
                shape,
                scale,
                sampler,
            },
            shift: 0.0,
            uncertain: None,
        })
    }

    pub fn empirical(samples: Vec<Seconds>) -> Result<Self, ParamError> {
        if samples.is_empty() {
            return Err("an empirical distribution needs at least one sample".into());
        }
        if let Some(bad) = samples.iter().find(|s| !(s.is_finite() && **s >= 0.0)) {
            return Err(format!(
                "samples must be finite and not negative, found {bad}"
            ));
        }
        Ok(Dist {
            family: Family::Empirical {
                samples: samples.into(),
            },
            shift: 0.0,
            uncertain: None,
        })
    }

    pub fn with_shift(mut self, shift: Seconds) -> Result<Self, ParamError> {
        if !(shift.is_finite() && shift >= 0.0) {
            return Err(format!(
                "shift must be a duration of at least 0, found {shift}"
            ));
        }
        self.shift = shift;
        Ok(self)
    }

    /// One draw, in seconds.
    #[inline(always)]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Seconds {
        self.shift
            + match &self.family {
                Family::Fixed { value } => *value,
                Family::Exponential { mean } => {
                    let e: f64 = Exp1.sample(rng);
                    mean * e
                }
                Family::Uniform { min, max } => min + (max - min) * unit_interval(rng),
                Family::LogNormal { sampler, .. } => sampler.sample(rng),
                Family::Weibull { sampler, .. } => sampler.sample(rng),
                Family::Gamma { sampler, .. } => sampler.sample(rng),
                Family::Empirical { samples } => {
                    // Lemire's multiply-shift: unbiased enough for sample counts far below
                    // 2^32 and cheaper than a rejection loop.
                    let i = ((rng.next_u32() as u64 * samples.len() as u64) >> 32) as usize;
                    samples[i]
                }
            }
    }

    /// One draw conditioned on exceeding `age` (a clock that has run `age` seconds
    /// without firing): its whole length, so always `> age` except for a fixed value or
    /// an empirical set that cannot exceed it (then a plain draw's length is returned,
    /// which the caller never asks for: a pending clock has not fired). Inverse transform
    /// on the survival function where there is one; exact for every family.
    pub fn sample_beyond<R: Rng + ?Sized>(&self, age: Seconds, rng: &mut R) -> Seconds {
        let y = age - self.shift;
        if y <= 0.0 {
            return self.sample(rng);
        }
        // In (0, 1]: a survival probability's share.
        let v = 1.0 - unit_interval(rng);
        self.shift
            + match &self.family {
                Family::Fixed { value } => *value,
                Family::Exponential { mean } => {
                    let e: f64 = Exp1.sample(rng);
                    y + mean * e
                }
                Family::Uniform { min, max } => {
                    let lo = y.max(*min).min(*max);
                    lo + (max - lo) * unit_interval(rng)
                }
                Family::LogNormal { mu, sigma, .. } => {
                    // S(y) = Φc(z0); draw S' = v·S(y), then z = Φc⁻¹(S').
                    let z0 = (y.ln() - mu) / sigma;
                    let tail = 0.5 * statrs::function::erf::erfc(z0 / std::f64::consts::SQRT_2);
                    let z =
                        std::f64::consts::SQRT_2 * statrs::function::erf::erfc_inv(2.0 * v * tail);
                    (mu + sigma * z.max(z0)).exp().max(y)
                }
                Family::Weibull { shape, scale, .. } => {
                    // S(x) = exp(−(x/λ)^k): (x/λ)^k = (y/λ)^k + E.
                    let e = -v.ln();
                    scale * ((y / scale).powf(*shape) + e).powf(1.0 / shape)
                }
                Family::Gamma {
                    shape,
                    scale,
                    sampler,
                } => {
                    let g = statrs::distribution::Gamma::new(*shape, 1.0 / scale)
                        .expect("validated gamma");
                    let survive = g.sf(y);
                    if survive > 0.1 {
                        // Rejection: on average fewer than ten draws.
                        loop {
                            let x = sampler.sample(rng);
                            if x > y {
                                break x;
                            }
                        }
                    } else {
                        g.inverse_cdf(1.0 - v * survive).max(y)
                    }
                }
                Family::Empirical { samples } => {
                    let above = samples.iter().filter(|s| **s > y).count();
                    if above == 0 {
                        return self.sample(rng);
                    }
                    let k = ((rng.next_u32() as u64 * above as u64) >> 32) as usize;
                    *samples
                        .iter()
                        .filter(|s| **s > y)
                        .nth(k)
                        .expect("k < above")
                }
            }
    }

    /// The mean, in seconds.
    pub fn mean(&self) -> Seconds {
        self.shift
            + match &self.family {
                Family::Fixed { value } => *value,
                Family::Exponential { mean } => *mean,
                Family::Uniform { min, max } => (min + max) / 2.0,
                Family::LogNormal { mu, sigma, .. } => (mu + sigma * sigma / 2.0).exp(),
                Family::Weibull { shape, scale, .. } => {
                    scale * statrs::function::gamma::gamma(1.0 + 1.0 / shape)
                }
                Family::Gamma { shape, scale, .. } => shape * scale,
                Family::Empirical { samples } => samples.iter().sum::<f64>() / samples.len() as f64,
            }
    }

    /// P(draw <= x).
    pub fn cdf(&self, x: Seconds) -> f64 {
        let y = x - self.shift;
        match &self.family {
            Family::Fixed { value } => f64::from(y >= *value),
            _ if y <= 0.0 => 0.0,
            Family::Exponential { mean } => -(-y / mean).exp_m1(),
            Family::Uniform { min, max } => {
                if y >= *max {
                    1.0
                } else if y < *min {
                    0.0
                } else {
                    (y - min) / (max - min)
                }
            }
            Family::LogNormal { mu, sigma, .. } => {
                statrs::distribution::LogNormal::new(*mu, *sigma)
                    .map(|d| d.cdf(y))
                    .unwrap_or(f64::NAN)
            }
            Family::Weibull { shape, scale, .. } => {
                statrs::distribution::Weibull::new(*shape, *scale)
                    .map(|d| d.cdf(y))
                    .unwrap_or(f64::NAN)
            }
            Family::Gamma { shape, scale, .. } => {
                statrs::distribution::Gamma::new(*shape, 1.0 / scale)
                    .map(|d| d.cdf(y))
                    .unwrap_or(f64::NAN)
            }
            Family::Empirical { samples } => {
                samples.iter().filter(|s| **s <= y).count() as f64 / samples.len() as f64
            }
        }
    }

    /// The distribution of `f` times a draw: every time parameter, `shift` included,
    /// multiplied by `f > 0` (and an `uncertain` law with them).
    pub fn scaled(&self, f: f64) -> Dist {
        let mut d = self.scaled_draws(f);
        d.uncertain = self.uncertain.as_ref().map(|e| Box::new(e.scaled(f)));
        d
    }

    fn scaled_draws(&self, f: f64) -> Dist {
        debug_assert!(f > 0.0);
        let family = match &self.family {
            Family::Fixed { value } => Family::Fixed { value: value * f },
            Family::Exponential { mean } => Family::Exponential { mean: mean * f },
            Family::Uniform { min, max } => Family::Uniform {
                min: min * f,
                max: max * f,
            },
            Family::LogNormal { mu, sigma, .. } => {
                return Dist::lognormal(mu + f.ln(), *sigma)
                    .expect("a scaled lognormal is valid")
                    .with_shift(self.shift * f)
                    .expect("a scaled shift is valid");
            }
            Family::Weibull { shape, scale, .. } => {
                return Dist::weibull(*shape, scale * f)
                    .expect("a scaled Weibull is valid")
                    .with_shift(self.shift * f)
                    .expect("a scaled shift is valid");
            }
            Family::Gamma { shape, scale, .. } => {
                return Dist::gamma(*shape, scale * f)
                    .expect("a scaled gamma is valid")
                    .with_shift(self.shift * f)
                    .expect("a scaled shift is valid");
            }
            Family::Empirical { samples } => Family::Empirical {
                samples: samples.iter().map(|s| s * f).collect(),
            },
        };
        Dist {
            family,
            shift: self.shift * f,
            uncertain: None,
        }
    }

    /// This distribution rescaled to `mean` (its shape kept), with no `uncertain` law: one
    /// draw of an uncertainty run's outer loop.
    pub fn with_mean(&self, mean: Seconds) -> Dist {
        self.scaled_draws(mean / self.mean())
    }

    /// The mean when this is an unshifted exponential (memoryless), else `None`.
    pub fn exponential_mean(&self) -> Option<Seconds> {
        match self.family {
            Family::Exponential { mean } if self.shift == 0.0 => Some(mean),
            _ => None,
        }
    }

    /// The smallest value a draw can take.
    pub fn lower_bound(&self) -> Seconds {
        self.shift
            + match &self.family {
                Family::Fixed { value } => *value,
                Family::Uniform { min, .. } => *min,
                Family::Empirical { samples } => {
                    samples.iter().copied().fold(f64::INFINITY, f64::min)
                }
                _ => 0.0,
            }
    }

    /// The family's name as a model file spells it.
    pub fn name(&self) -> &'static str {
        match self.family {
            Family::Fixed { .. } => "fixed",
            Family::Exponential { .. } => "exponential",
            Family::Uniform { .. } => "uniform",
            Family::LogNormal { .. } => "lognormal",
            Family::Weibull { .. } => "weibull",
            Family::Gamma { .. } => "gamma",
            Family::Empirical { .. } => "empirical",
        }
    }
}

/// A uniform draw in [0, 1) with 53 random bits.
#[inline]
pub fn unit_interval<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

fn positive(name: &str, v: f64) -> Result<(), ParamError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(format!("{name} must be positive, found {v}"))
    }
}

/// Serialises in the model file's own canonical form, durations in seconds.
impl Serialize for Dist {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(None)?;
        m.serialize_entry("dist", self.name())?;
        match &self.family {
            Family::Fixed { value } => m.serialize_entry("value", value)?,
            Family::Exponential { mean } => m.serialize_entry("mean", mean)?,
            Family::Uniform { min, max } => {
                m.serialize_entry("min", min)?;
                m.serialize_entry("max", max)?;
            }
            Family::LogNormal { mu, sigma, .. } => {
                m.serialize_entry("mu", mu)?;
                m.serialize_entry("sigma", sigma)?;
            }
            Family::Weibull { shape, scale, .. } | Family::Gamma { shape, scale, .. } => {
                m.serialize_entry("shape", shape)?;
                m.serialize_entry("scale", scale)?;
            }
            Family::Empirical { samples } => m.serialize_entry("samples", &samples[..])?,
        }
        if self.shift != 0.0 {
            m.serialize_entry("shift", &self.shift)?;
        }
        if let Some(u) = &self.uncertain {
            m.serialize_entry("uncertain", u)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// Draws beyond `age` follow the conditional law: every draw exceeds `age`, and at
    /// three points the share below matches `(F(x) − F(age)) / (1 − F(age))` within five
    /// binomial standard errors.
    fn check_beyond(d: &Dist, age: f64) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
        let n = 40_000;
        let draws: Vec<f64> = (0..n).map(|_| d.sample_beyond(age, &mut rng)).collect();
        assert!(
            draws.iter().all(|&x| x > age),
            "{}: a draw <= {age}",
            d.name()
        );
        let f0 = d.cdf(age);
        let mut sorted = draws.clone();
        sorted.sort_by(f64::total_cmp);
        for q in [0.2, 0.5, 0.9] {
            let x = sorted[(q * n as f64) as usize];
            let expected = (d.cdf(x) - f0) / (1.0 - f0);
            let seen = draws.iter().filter(|&&y| y <= x).count() as f64 / n as f64;
            let se = (expected * (1.0 - expected) / n as f64).sqrt();
            assert!(
                (seen - expected).abs() < 5.0 * se + 1e-9,
                "{} beyond {age}: P(X <= {x}) {seen}, expected {expected}",
                d.name()
            );
        }
    }

    #[test]
    fn draws_beyond_an_age_follow_the_conditional_law() {
        let h = 3600.0;
        check_beyond(&Dist::exponential(10.0 * h).unwrap(), 25.0 * h);
        check_beyond(&Dist::uniform(h, 5.0 * h).unwrap(), 2.0 * h);
        // Far into the tails too: the lognormal 99.9th percentile, Weibull and gamma at
        // five means.
        let ln = Dist::lognormal_mean_cv(h, 1.3).unwrap();
        check_beyond(&ln, 0.5 * h);
        check_beyond(&ln, 12.0 * h);
        check_beyond(&Dist::weibull_mean(2.0, 10.0 * h).unwrap(), 12.0 * h);
        check_beyond(&Dist::weibull_mean(0.7, 10.0 * h).unwrap(), 50.0 * h);
        check_beyond(&Dist::gamma(2.0, h).unwrap(), h);
        check_beyond(&Dist::gamma(2.0, h).unwrap(), 10.0 * h);
        check_beyond(
            &Dist::exponential(h).unwrap().with_shift(600.0).unwrap(),
            900.0,
        );
        // Below the shift, a plain draw.
        check_beyond(
            &Dist::weibull_mean(1.5, h)
                .unwrap()
                .with_shift(600.0)
                .unwrap(),
            300.0,
        );
        let e = Dist::empirical(vec![10.0, 20.0, 30.0, 40.0]).unwrap();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let draws: Vec<f64> = (0..4000).map(|_| e.sample_beyond(25.0, &mut rng)).collect();
        assert!(draws.iter().all(|&x| x == 30.0 || x == 40.0));
        let thirty = draws.iter().filter(|&&x| x == 30.0).count();
        assert!((1800..2200).contains(&thirty), "{thirty}");
    }

    /// Sample mean within 5 standard errors of the closed-form mean (variance given).
    fn check_mean(d: &Dist, mean: f64, variance: f64) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let n = 200_000;
        let s: f64 = (0..n).map(|_| d.sample(&mut rng)).sum();
        let m = s / n as f64;
        let se = (variance / n as f64).sqrt();
        assert!(
            (m - mean).abs() < 5.0 * se,
            "{}: sample mean {m}, expected {mean}",
            d.name()
        );
        assert!(
            (d.mean() - mean).abs() < 1e-9 * mean.max(1.0),
            "{}: mean()",
            d.name()
        );
    }

    #[test]
    fn samplers_have_the_closed_form_means() {
        // Means and variances worked out by hand for each parameter form.
        check_mean(&Dist::exponential(10.0).unwrap(), 10.0, 100.0);
        check_mean(&Dist::uniform(2.0, 4.0).unwrap(), 3.0, 4.0 / 12.0);
        // lognormal mean 10, cv 0.5: variance (cv·mean)^2 = 25.
        check_mean(&Dist::lognormal_mean_cv(10.0, 0.5).unwrap(), 10.0, 25.0);
        // Weibull shape 2, mean 10: variance = mean^2 (Γ(2)/Γ(1.5)^2 - 1) = 100·(4/π - 1).
        check_mean(
            &Dist::weibull_mean(2.0, 10.0).unwrap(),
            10.0,
            100.0 * (4.0 / std::f64::consts::PI - 1.0),
        );
        // gamma shape 3, scale 2: mean 6, variance 12.
        check_mean(&Dist::gamma(3.0, 2.0).unwrap(), 6.0, 12.0);
        // empirical {1, 2, 6}: mean 3, variance 14/3.
        check_mean(
            &Dist::empirical(vec![1.0, 2.0, 6.0]).unwrap(),
            3.0,
            14.0 / 3.0,
        );
        check_mean(
            &Dist::fixed(5.0).with_shift(1.0).unwrap(),
            6.0,
            0.0 + 1e-300,
        );
    }

    #[test]
    fn lognormal_median_form_has_that_median() {
        let d = Dist::lognormal_median(5.0, 0.4).unwrap();
        assert!((d.cdf(5.0) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn cdfs_match_closed_forms() {
        let e = Dist::exponential(2.0).unwrap();
        assert!((e.cdf(2.0) - (1.0 - (-1.0f64).exp())).abs() < 1e-15);
        let w = Dist::weibull(2.0, 3.0).unwrap();
        assert!((w.cdf(3.0) - (1.0 - (-1.0f64).exp())).abs() < 1e-12);
        let s = Dist::exponential(2.0).unwrap().with_shift(1.0).unwrap();
        assert_eq!(s.cdf(0.5), 0.0);
        assert!((s.cdf(3.0) - (1.0 - (-1.0f64).exp())).abs() < 1e-15);
        let u = Dist::uniform(1.0, 3.0).unwrap();
        assert_eq!(u.cdf(2.0), 0.5);
        // gamma shape 1 is exponential.
        let g = Dist::gamma(1.0, 2.0).unwrap();
        assert!((g.cdf(2.0) - (1.0 - (-1.0f64).exp())).abs() < 1e-12);
    }

    #[test]
    fn scaling_multiplies_every_draw() {
        let ds = [
            Dist::fixed(2.0),
            Dist::exponential(3.0).unwrap(),
            Dist::uniform(1.0, 2.0).unwrap(),
            Dist::lognormal_median(5.0, 0.4)
                .unwrap()
                .with_shift(1.0)
                .unwrap(),
            Dist::weibull(1.5, 4.0).unwrap(),
            Dist::gamma(2.0, 3.0).unwrap(),
            Dist::empirical(vec![1.0, 4.0]).unwrap(),
        ];
        for d in ds {
            let s = d.scaled(2.5);
            assert!(
                (s.mean() - 2.5 * d.mean()).abs() < 1e-9 * d.mean().max(1.0),
                "{}",
                d.name()
            );
            let mut a = Xoshiro256PlusPlus::seed_from_u64(3);
            let mut b = Xoshiro256PlusPlus::seed_from_u64(3);
            let (x, y) = (d.sample(&mut a), s.sample(&mut b));
            assert!(
                (y - 2.5 * x).abs() < 1e-9 * y.max(1.0),
                "{}: {x} {y}",
                d.name()
            );
        }
    }

    #[test]
    fn refuses_bad_parameters() {
        assert!(Dist::exponential(0.0).is_err());
        assert!(Dist::exponential(-1.0).is_err());
        assert!(Dist::uniform(3.0, 1.0).is_err());
        assert!(Dist::lognormal(0.0, 0.0).is_err());
        assert!(Dist::weibull(0.0, 1.0).is_err());
        assert!(Dist::gamma(1.0, f64::NAN).is_err());
        assert!(Dist::empirical(vec![]).is_err());
        assert!(Dist::empirical(vec![-1.0]).is_err());
        assert!(Dist::fixed(1.0).with_shift(-1.0).is_err());
    }
}
