//! Streaming, mergeable statistics with deterministic results.
//!
//! - [`Moments`]: count, mean and sum of squared deviations (Welford's update; Chan et
//!   al.'s pairwise merge). The result depends on the order of updates and merges, so the
//!   Monte Carlo driver always folds replications in index order within fixed chunks and
//!   merges chunks in index order: the same numbers on any number of threads.
//! - [`Histogram`]: fixed log-spaced bins, so that quantiles are deterministic and
//!   mergeable. Bin 0 holds exact zeros; above [`Histogram::FLOOR`] seconds each bin is
//!   [`Histogram::REL_WIDTH`] wide relatively, so a reported quantile (the geometric
//!   middle of its bin, clamped to the observed range) is within ±0.25 % of the true one.
//! - [`Ratio`]: the same for pairs `(x, y)`, for a ratio of means (a share) and its
//!   delta-method interval.
//! - Intervals: Student's t on the per-history values; Wilson's score interval for
//!   proportions.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Count, mean and M2 (sum of squared deviations from the mean).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Moments {
    pub n: u64,
    pub mean: f64,
    pub m2: f64,
}

impl Moments {
    #[inline]
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// Chan, Golub and LeVeque's pairwise combination.
    pub fn merge(&mut self, o: &Moments) {
        if o.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *o;
            return;
        }
        let n = self.n + o.n;
        let d = o.mean - self.mean;
        let (na, nb) = (self.n as f64, o.n as f64);
        self.mean += d * nb / n as f64;
        self.m2 += o.m2 + d * d * na * nb / n as f64;
        self.n = n;
    }

    /// Refuses moments no `n` values in `lo ..= hi` can have: another count, a mean
    /// outside the range, a negative or impossible second moment, anything not finite.
    pub fn check(&self, n: u64, lo: f64, hi: f64) -> Result<(), String> {
        if self.n != n {
            return Err(format!("{} values where there are {n}", self.n));
        }
        if n == 0 {
            return Ok(());
        }
        if !(self.mean.is_finite() && self.m2.is_finite()) {
            return Err("a mean or second moment that is not finite".into());
        }
        // Rounding in the running sums can push a mean a hair past its range.
        let scale = [lo, hi, self.mean]
            .iter()
            .filter(|v| v.is_finite())
            .fold(1.0f64, |a, v| a.max(v.abs()));
        let slack = 1e-9 * scale;
        if self.mean < lo - slack || self.mean > hi + slack {
            return Err(format!("mean {} outside {lo} ..= {hi}", self.mean));
        }
        // Values in [lo, hi] with this mean have m2 at most n·(mean − lo)(hi − mean).
        let most = n as f64 * (self.mean - lo).max(0.0) * (hi - self.mean).max(0.0);
        if self.m2 < -slack * n as f64
            || (hi.is_finite() && self.m2 > most * (1.0 + 1e-9) + slack * n as f64)
        {
            return Err(format!(
                "second moment {} impossible for these values",
                self.m2
            ));
        }
        Ok(())
    }

    /// Sample variance (n − 1 in the denominator).
    pub fn variance(&self) -> f64 {
        if self.n < 2 {
            f64::NAN
        } else {
            self.m2 / (self.n - 1) as f64
        }
    }

    pub fn std_err(&self) -> f64 {
        (self.variance() / self.n as f64).sqrt()
    }

    /// The two-sided Student-t interval on the mean at `confidence`.
    /// Half the width of the `t_interval` (NaN under two values).
    pub fn half_width(&self, confidence: f64) -> f64 {
        if self.n < 2 {
            return f64::NAN;
        }
        t_quantile(confidence, self.n - 1) * self.std_err()
    }

    pub fn t_interval(&self, confidence: f64) -> (f64, f64) {
        if self.n < 2 {
            return (f64::NAN, f64::NAN);
        }
        let h = t_quantile(confidence, self.n - 1) * self.std_err();
        (self.mean - h, self.mean + h)
    }
}

/// Paired values `(x, y)` for the ratio of their means `x̄ / ȳ` (a share of a total):
/// both means, both second moments and the co-moment, updated and merged as
/// [`Moments`] (Welford; Chan et al.), so the result is as deterministic.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Ratio {
    pub n: u64,
    pub mean_x: f64,
    pub mean_y: f64,
    pub m2_x: f64,
    pub m2_y: f64,
    /// Σ (x − x̄)(y − ȳ).
    pub c_xy: f64,
}

impl Ratio {
    #[inline]
    pub fn push(&mut self, x: f64, y: f64) {
        self.n += 1;
        let n = self.n as f64;
        let dx = x - self.mean_x;
        let dy = y - self.mean_y;
        self.mean_x += dx / n;
        self.mean_y += dy / n;
        self.m2_x += dx * (x - self.mean_x);
        self.m2_y += dy * (y - self.mean_y);
        self.c_xy += dx * (y - self.mean_y);
    }

    pub fn merge(&mut self, o: &Ratio) {
        if o.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *o;
            return;
        }
        let (na, nb) = (self.n as f64, o.n as f64);
        let n = na + nb;
        let dx = o.mean_x - self.mean_x;
        let dy = o.mean_y - self.mean_y;
        self.mean_x += dx * nb / n;
        self.mean_y += dy * nb / n;
        self.m2_x += o.m2_x + dx * dx * na * nb / n;
        self.m2_y += o.m2_y + dy * dy * na * nb / n;
        self.c_xy += o.c_xy + dx * dy * na * nb / n;
        self.n += o.n;
    }

    /// `x̄ / ȳ` and its interval at `confidence`: the delta method (the ratio
    /// estimator's linearisation, Cochran's *Sampling Techniques* §6.4), its variance
    /// `Σ (x − R y)² / ((n − 1) n ȳ²)` with Student's t, cut to `[lo, hi]`. `None`
    /// without a positive `ȳ`; the interval is `(NaN, NaN)` under two pairs.
    pub fn interval(&self, confidence: f64, lo: f64, hi: f64) -> Option<(f64, f64, f64)> {
        if self.n == 0 || self.mean_y <= 0.0 {
            return None;
        }
        let r = self.mean_x / self.mean_y;
        if self.n < 2 {
            return Some((r, f64::NAN, f64::NAN));
        }
        let n = self.n as f64;
        let ss = (self.m2_x - 2.0 * r * self.c_xy + r * r * self.m2_y).max(0.0);
        let se = (ss / ((n - 1.0) * n)).sqrt() / self.mean_y;
        let h = t_quantile(confidence, self.n - 1) * se;
        Some((r, (r - h).clamp(lo, hi), (r + h).clamp(lo, hi)))
    }
}

/// The half-width of the Dvoretzky–Kiefer–Wolfowitz band around an empirical
/// distribution function of `n` samples: with probability at least `confidence` the true
/// one lies within it everywhere (Massart's constant: `√(ln(2/α) / 2n)`).
pub fn dkw_half_width(n: usize, confidence: f64) -> f64 {
    ((2.0 / (1.0 - confidence)).ln() / (2.0 * n as f64)).sqrt()
}

/// The Kaplan–Meier (product-limit) estimate of the distribution function from samples
/// `(value, censored)` (a censored value is a lower bound: the time was above it), at
/// each value where something ended: `(t, F(t), low, high)`, with a pointwise interval
/// at `confidence` from Greenwood's variance on the log(−log) scale (Kalbfleisch and
/// Prentice), which stays inside [0, 1]. Ended and censored at one value: ended first.
pub fn kaplan_meier(samples: &[(f64, bool)], confidence: f64) -> Vec<(f64, f64, f64, f64)> {
    let mut sorted: Vec<(f64, bool)> = samples.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let z = z_quantile(confidence);
    let mut at_risk = sorted.len() as f64;
    let (mut surv, mut greenwood) = (1.0f64, 0.0f64);
    let mut out = vec![];
    let mut i = 0;
    while i < sorted.len() {
        let t = sorted[i].0;
        let (mut ended, mut gone) = (0.0, 0.0);
        while i < sorted.len() && sorted[i].0 == t {
            ended += f64::from(u8::from(!sorted[i].1));
            gone += 1.0;
            i += 1;
        }
        if ended > 0.0 {
            surv *= 1.0 - ended / at_risk;
            if at_risk > ended {
                greenwood += ended / (at_risk * (at_risk - ended));
            }
            let (lo, hi) = if surv > 0.0 && surv < 1.0 {
                let w = z * greenwood.sqrt() / surv.ln().abs();
                // S^exp(+w) ≤ S ≤ S^exp(−w); F = 1 − S turns them round.
                (1.0 - surv.powf((-w).exp()), 1.0 - surv.powf(w.exp()))
            } else {
                (1.0 - surv, 1.0 - surv)
            };
            out.push((t, 1.0 - surv, lo, hi));
        }
        at_risk -= gone;
    }
    out
}

/// Above this many degrees of freedom, `t_quantile` uses the Cornish–Fisher expansion
/// around the normal quantile: statrs' inverse falls apart there (1.83 instead of 1.96 at
/// 10⁷, no answer at all at 10⁸), and the expansion agrees with SciPy to 1e-8 already.
const T_EXPANSION_DOF: u64 = 1000;

/// The `(1 + confidence)/2` quantile of Student's t with `dof` degrees of freedom.
pub fn t_quantile(confidence: f64, dof: u64) -> f64 {
    if dof > T_EXPANSION_DOF {
        // Abramowitz & Stegun 26.7.5, the first five terms.
        let z = z_quantile(confidence);
        let v = dof as f64;
        let (z3, z5, z7, z9) = (z.powi(3), z.powi(5), z.powi(7), z.powi(9));
        return z
            + (z3 + z) / (4.0 * v)
            + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * v.powi(2))
            + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * v.powi(3))
            + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z)
                / (92160.0 * v.powi(4));
    }
    let p = (1.0 + confidence) / 2.0;
    match StudentsT::new(0.0, 1.0, dof as f64) {
        Ok(t) => t.inverse_cdf(p),
        Err(_) => f64::NAN,
    }
}

/// The two-sided p-value of an estimate `d` with standard error `se` against no effect
/// (normal approximation: the intervals here rest on thousands of histories). An exact
/// zero with no spread is no evidence (1); a nonzero value with no spread is certain (0).
pub fn two_sided_p(d: f64, se: f64) -> f64 {
    if se.is_nan() || se <= 0.0 {
        return if d == 0.0 || !d.is_finite() { 1.0 } else { 0.0 };
    }
    2.0 * (1.0 - Normal::standard().cdf((d / se).abs()))
}

/// Holm's step-down procedure at family-wise level `alpha`: which of the hypotheses with
/// p-values `p` are rejected (the smallest p against α/m, the next against α/(m−1), …,
/// stopping at the first that is not).
pub fn holm(p: &[f64], alpha: f64) -> Vec<bool> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut rejected = vec![false; p.len()];
    let m = p.len();
    for (j, &i) in order.iter().enumerate() {
        if p[i] <= alpha / (m - j) as f64 {
            rejected[i] = true;
        } else {
            break;
        }
    }
    rejected
}

/// The `(1 + confidence)/2` quantile of the standard normal.
pub fn z_quantile(confidence: f64) -> f64 {
    Normal::standard().inverse_cdf((1.0 + confidence) / 2.0)
}

/// Wilson's score interval for `k` successes in `n` trials.
pub fn wilson(k: u64, n: u64, confidence: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = z_quantile(confidence);
    let (n, p) = (n as f64, k as f64 / n as f64);
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    let lo = if k == 0 {
        0.0
    } else {
        (center - half).max(0.0)
    };
    let hi = if k as f64 == n {
        1.0
    } else {
        (center + half).min(1.0)
    };
    (lo, hi)
}

/// A fixed-bin histogram of non-negative values (seconds) up to `max_value`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(into = "SparseHistogram", try_from = "SparseHistogram")]
pub struct Histogram {
    counts: Vec<u64>,
    min: f64,
    max: f64,
    n: u64,
}

impl Histogram {
    /// Values at or below this (but above 0) share bin 1.
    pub const FLOOR: f64 = 1e-3;
    /// Relative bin width.
    pub const REL_WIDTH: f64 = 0.005;

    pub fn new(max_value: f64) -> Self {
        let bins = 2 + Self::log_index(max_value.max(Self::FLOOR)) + 1;
        Histogram {
            counts: vec![0; bins],
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            n: 0,
        }
    }

    #[inline]
    fn log_index(x: f64) -> usize {
        ((x / Self::FLOOR).ln() / Self::REL_WIDTH.ln_1p())
            .floor()
            .max(0.0) as usize
    }

    #[inline]
    fn bin(&self, x: f64) -> usize {
        if x <= 0.0 {
            0
        } else {
            (1 + Self::log_index(x)).min(self.counts.len() - 1)
        }
    }

    #[inline]
    pub fn push(&mut self, x: f64) {
        let b = self.bin(x);
        self.counts[b] += 1;
        self.n += 1;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }

    pub fn merge(&mut self, o: &Histogram) {
        debug_assert_eq!(self.counts.len(), o.counts.len());
        for (a, b) in self.counts.iter_mut().zip(&o.counts) {
            *a += b;
        }
        self.n += o.n;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
    }

    /// Refuses a histogram that is not one of `n` values in `0 ..= max_value` made by
    /// `Histogram::new(max_value)`: other bins, counts that do not add up, a range outside.
    pub fn check(&self, n: u64, max_value: f64) -> Result<(), String> {
        let like = Histogram::new(max_value);
        if self.counts.len() != like.counts.len() {
            return Err(format!(
                "{} bins where there are {}",
                self.counts.len(),
                like.counts.len()
            ));
        }
        let sum = self
            .counts
            .iter()
            .try_fold(0u64, |a, c| a.checked_add(*c))
            .ok_or("counts that overflow")?;
        if sum != n || self.n != n {
            return Err(format!(
                "{sum} values in the bins, {} counted, where there are {n}",
                self.n
            ));
        }
        if n > 0
            && !(0.0 <= self.min && self.min <= self.max && self.max <= max_value * (1.0 + 1e-12))
        {
            return Err(format!(
                "values from {} to {}, outside 0 ..= {max_value}",
                self.min, self.max
            ));
        }
        Ok(())
    }

    /// The non-empty bins: (lower edge, upper edge, count); the zero bin is (0, 0, n).
    pub fn bins(&self) -> Vec<(f64, f64, u64)> {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(b, c)| {
                if b == 0 {
                    (0.0, 0.0, *c)
                } else if b == 1 {
                    (0.0, Self::FLOOR * (1.0 + Self::REL_WIDTH), *c)
                } else {
                    let lo = Self::FLOOR * (1.0 + Self::REL_WIDTH).powi(b as i32 - 1);
                    (lo, lo * (1.0 + Self::REL_WIDTH), *c)
                }
            })
            .collect()
    }

    pub fn count(&self) -> u64 {
        self.n
    }

    pub fn max(&self) -> f64 {
        if self.n == 0 { f64::NAN } else { self.max }
    }

    /// The smallest bin value `v` with at least `q·n` values at or below it: the geometric
    /// middle of that bin, clamped to the observed range; 0 for the zero bin; the exact
    /// maximum when only the largest value qualifies.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.n == 0 {
            return f64::NAN;
        }
        let target = ((q * self.n as f64).ceil() as u64).clamp(1, self.n);
        if target == self.n {
            return self.max;
        }
        let mut seen = 0;
        for (b, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= target {
                if b == 0 {
                    return 0.0;
                }
                let lo = Self::FLOOR * (1.0 + Self::REL_WIDTH).powi(b as i32 - 1);
                let mid = lo * (1.0 + Self::REL_WIDTH).sqrt();
                return mid.clamp(self.min, self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn holm_rejects_step_down_and_stops_at_the_first_kept() {
        // α = 0.05, m = 4: 0.005 ≤ 0.0125, 0.01 ≤ 0.0167, 0.03 > 0.025 stops (so 0.04,
        // though below 0.05, is kept).
        assert_eq!(
            holm(&[0.01, 0.04, 0.03, 0.005], 0.05),
            [true, false, false, true]
        );
        assert_eq!(holm(&[0.2, 0.5], 0.05), [false, false]);
        assert!(holm(&[], 0.05).is_empty());
    }

    #[test]
    fn p_values_against_no_effect() {
        assert!((two_sided_p(1.959_963_984_540_054, 1.0) - 0.05).abs() < 1e-9);
        assert_eq!(two_sided_p(0.0, 0.0), 1.0);
        assert_eq!(two_sided_p(3.0, 0.0), 0.0);
    }

    use super::*;

    #[test]
    fn t_quantiles_hold_for_any_number_of_replications() {
        // Reference values from SciPy 1.17.1 (`scipy.stats.t.ppf`), on both sides of the
        // switch to the expansion, and the normal limits 1.9599640, 2.5758293.
        assert!((t_quantile(0.95, 1000) - 1.962_339_081).abs() < 1e-8);
        assert!((t_quantile(0.99, 1000) - 2.580_754_698).abs() < 1e-8);
        assert!((t_quantile(0.95, 1001) - 1.962_336_705).abs() < 1e-8);
        assert!((t_quantile(0.99, 1001) - 2.580_749_769).abs() < 1e-8);
        assert!((t_quantile(0.99, 5000) - 2.576_812_967).abs() < 1e-8);
        for dof in [10_000_000, 100_000_000, u64::MAX / 2] {
            assert!((t_quantile(0.95, dof) - 1.959_964_0).abs() < 1e-6, "{dof}");
            assert!((t_quantile(0.99, dof) - 2.575_829_3).abs() < 1e-6, "{dof}");
        }
        // Decreasing towards the normal quantile.
        assert!(t_quantile(0.95, 5000) > t_quantile(0.95, 50_000));
    }

    #[test]
    fn a_ratio_streams_merges_and_has_the_delta_method_interval() {
        // x a part of y, as a cause's downtime is of the total.
        let pairs: Vec<(f64, f64)> = (0..500)
            .map(|i| {
                let y = ((i * 37) % 101) as f64;
                (y * (((i * 13) % 7) as f64 / 7.0), y)
            })
            .collect();
        let mut all = Ratio::default();
        pairs.iter().for_each(|(x, y)| all.push(*x, *y));
        let mut a = Ratio::default();
        let mut b = Ratio::default();
        pairs[..123].iter().for_each(|(x, y)| a.push(*x, *y));
        pairs[123..].iter().for_each(|(x, y)| b.push(*x, *y));
        a.merge(&b);
        // The two-pass formulas, directly.
        let n = pairs.len() as f64;
        let mx = pairs.iter().map(|p| p.0).sum::<f64>() / n;
        let my = pairs.iter().map(|p| p.1).sum::<f64>() / n;
        let r = mx / my;
        let ss: f64 = pairs.iter().map(|(x, y)| (x - r * y).powi(2)).sum();
        let h = t_quantile(0.95, 499) * (ss / (499.0 * n)).sqrt() / my;
        for got in [all, a] {
            let (gr, lo, hi) = got.interval(0.95, 0.0, 1.0).unwrap();
            assert!((gr - r).abs() < 1e-12);
            assert!((lo - (r - h)).abs() < 1e-9 && (hi - (r + h)).abs() < 1e-9);
            assert!(lo < r && r < hi);
        }
        // All of the total: the share is 1 exactly, with no width.
        let mut whole = Ratio::default();
        [3.0, 0.0, 5.0].iter().for_each(|y| whole.push(*y, *y));
        let (r, lo, hi) = whole.interval(0.95, 0.0, 1.0).unwrap();
        assert!(r == 1.0 && hi == 1.0 && lo > 1.0 - 1e-9, "{lo}");
        assert_eq!(Ratio::default().interval(0.95, 0.0, 1.0), None);
    }

    #[test]
    fn kaplan_meier_without_censoring_is_the_empirical_distribution() {
        let xs = [3.0, 1.0, 2.0, 2.0, 5.0];
        let km = kaplan_meier(&xs.map(|x| (x, false)), 0.95);
        let want = [(1.0, 0.2), (2.0, 0.6), (3.0, 0.8), (5.0, 1.0)];
        assert_eq!(km.len(), want.len());
        for (got, (t, p)) in km.iter().zip(want) {
            assert!(
                got.0 == t && (got.1 - p).abs() < 1e-12,
                "{got:?} against ({t}, {p})"
            );
        }
        for s in &km {
            assert!(s.2 <= s.1 + 1e-12 && s.1 <= s.3 + 1e-12 && s.2 >= 0.0 && s.3 <= 1.0);
        }
    }

    #[test]
    fn kaplan_meier_with_censoring_matches_the_textbook_example() {
        // Kaplan and Meier's own kind of example: 6 subjects, times 1, 2+, 3, 4+, 5, 6
        // (+ censored). S: after 1: 5/6; after 3: 5/6 · 3/4; after 5: · 1/2; after 6: 0.
        let data = [
            (1.0, false),
            (2.0, true),
            (3.0, false),
            (4.0, true),
            (5.0, false),
            (6.0, false),
        ];
        let km = kaplan_meier(&data, 0.95);
        let s = |k: usize| 1.0 - km[k].1;
        assert_eq!(km.len(), 4);
        assert!((s(0) - 5.0 / 6.0).abs() < 1e-12);
        assert!((s(1) - 5.0 / 6.0 * 0.75).abs() < 1e-12);
        assert!((s(2) - 5.0 / 6.0 * 0.75 * 0.5).abs() < 1e-12);
        assert_eq!(s(3), 0.0);
        // Greenwood at t = 3: S² (1/(6·5) + 1/(4·3)); the log(−log) band holds S.
        let v: f64 = 1.0 / 30.0 + 1.0 / 12.0;
        let w = 1.959_963_984_540_054 * v.sqrt() / s(1).ln().abs();
        assert!((km[1].3 - (1.0 - s(1).powf(w.exp()))).abs() < 1e-9);
        assert!(km[1].2 < km[1].1 && km[1].1 < km[1].3);
    }

    #[test]
    fn the_dkw_band_has_massarts_width() {
        // n = 100 at 95 %: √(ln 40 / 200) = 0.1358102.
        assert!((dkw_half_width(100, 0.95) - 0.135_810_15).abs() < 1e-7);
    }

    #[test]
    fn merged_moments_equal_one_pass() {
        let xs: Vec<f64> = (0..1000).map(|i| ((i * 37) % 101) as f64 * 0.5).collect();
        let mut all = Moments::default();
        xs.iter().for_each(|x| all.push(*x));
        let mut a = Moments::default();
        let mut b = Moments::default();
        xs[..300].iter().for_each(|x| a.push(*x));
        xs[300..].iter().for_each(|x| b.push(*x));
        a.merge(&b);
        assert_eq!(a.n, all.n);
        assert!((a.mean - all.mean).abs() < 1e-12);
        assert!((a.variance() - all.variance()).abs() < 1e-9);
    }

    #[test]
    fn t_and_z_quantiles_match_tables() {
        // Published two-sided 95 % critical values: t(9) = 2.262, t(29) = 2.045, z = 1.960.
        assert!((t_quantile(0.95, 9) - 2.2622).abs() < 1e-4);
        assert!((t_quantile(0.95, 29) - 2.0452).abs() < 1e-4);
        assert!((z_quantile(0.95) - 1.95996).abs() < 1e-5);
    }

    #[test]
    fn wilson_matches_a_worked_example() {
        // 81 successes in 263 trials at 95 %: Wilson interval 0.2553 to 0.3662
        // (Newcombe 1998, "Two-sided confidence intervals for the single proportion").
        let (lo, hi) = wilson(81, 263, 0.95);
        assert!((lo - 0.2553).abs() < 1e-4, "{lo}");
        assert!((hi - 0.3662).abs() < 1e-4, "{hi}");
        let (lo, hi) = wilson(0, 10, 0.95);
        assert_eq!(lo, 0.0);
        assert!(hi > 0.2 && hi < 0.35);
    }

    #[test]
    fn histogram_quantiles_are_within_resolution() {
        let mut h = Histogram::new(1e6);
        for i in 1..=1000 {
            h.push(i as f64);
        }
        for (q, exact) in [(0.5, 500.0), (0.95, 950.0), (0.99, 990.0)] {
            let v = h.quantile(q);
            assert!((v / exact - 1.0).abs() <= 0.0026, "q{q}: {v} vs {exact}");
        }
        assert_eq!(h.quantile(1.0), 1000.0);
        let mut z = Histogram::new(10.0);
        z.push(0.0);
        z.push(0.0);
        z.push(5.0);
        assert_eq!(z.quantile(0.5), 0.0);
        assert_eq!(z.quantile(0.99), 5.0);
    }
}

/// A histogram as stored in files: only the non-empty bins.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct SparseHistogram {
    bins: usize,
    /// (bin, count) of the non-empty bins, in bin order.
    counts: Vec<(usize, u64)>,
    min: Option<f64>,
    max: Option<f64>,
    n: u64,
}

impl From<Histogram> for SparseHistogram {
    fn from(h: Histogram) -> Self {
        SparseHistogram {
            bins: h.counts.len(),
            counts: h
                .counts
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(b, c)| (b, *c))
                .collect(),
            min: (h.n > 0).then_some(h.min),
            max: (h.n > 0).then_some(h.max),
            n: h.n,
        }
    }
}

impl TryFrom<SparseHistogram> for Histogram {
    type Error = String;

    fn try_from(s: SparseHistogram) -> Result<Self, String> {
        let mut counts = vec![0; s.bins];
        for (b, c) in s.counts {
            *counts
                .get_mut(b)
                .ok_or_else(|| format!("histogram bin {b} beyond {} bins", s.bins))? = c;
        }
        if counts.iter().sum::<u64>() != s.n {
            return Err("histogram counts do not add up to n".into());
        }
        Ok(Histogram {
            counts,
            min: s.min.unwrap_or(f64::INFINITY),
            max: s.max.unwrap_or(f64::NEG_INFINITY),
            n: s.n,
        })
    }
}
