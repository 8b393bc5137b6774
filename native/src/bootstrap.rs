//! Bootstrap AUROC / average precision with counter-based resampling (see [`crate::rng`]).
//!
//! The scores are sorted once. Each distinct score is a group; every item is coded as
//! `2 * group + label`. A resample then only counts, per code, how often it was drawn (one
//! O(n) scatter), and one pass over the groups in descending score order gives exact
//! trapezoidal AUROC (ties count one half, computed in integers) and average precision, the
//! same quantities as `medfusion_core.kernels.auc_pair` on the resampled arrays.

use std::cmp::Ordering;

use rayon::prelude::*;

use crate::rng;

/// Scores sorted once and coded by (tie group, label).
pub struct Prepared {
    codes: Vec<u32>,
    groups: usize,
}

/// Why inputs were refused.
#[derive(Debug, PartialEq, Eq)]
pub enum BootstrapError {
    /// `y_true` and `scores` differ in length.
    LengthMismatch(usize, usize),
    /// A label other than 0 or 1 at this index.
    BadLabel(usize),
    /// A NaN score at this index.
    NanScore(usize),
    /// More than 2^32 - 1 items.
    TooLarge(usize),
}

impl std::fmt::Display for BootstrapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::LengthMismatch(a, b) => write!(f, "y_true has {a} items but scores has {b}"),
            Self::BadLabel(i) => write!(f, "y_true[{i}] is not 0 or 1"),
            Self::NanScore(i) => write!(f, "scores[{i}] is NaN"),
            Self::TooLarge(n) => write!(f, "{n} items exceed the 2^32 - 1 supported"),
        }
    }
}

impl std::error::Error for BootstrapError {}

impl Prepared {
    /// Validate and sort once: descending scores, ties grouped. The sort runs on the rayon
    /// pool it is called in (it was the kernel's one serial step, about 7 % of a 100-resample
    /// call on one thread, which capped its 2-thread speed-up).
    pub fn new(y_true: &[u8], scores: &[f64]) -> Result<Self, BootstrapError> {
        if y_true.len() != scores.len() {
            return Err(BootstrapError::LengthMismatch(y_true.len(), scores.len()));
        }
        if y_true.len() >= u32::MAX as usize / 2 {
            return Err(BootstrapError::TooLarge(y_true.len()));
        }
        if let Some(i) = y_true.iter().position(|&y| y > 1) {
            return Err(BootstrapError::BadLabel(i));
        }
        if let Some(i) = scores.iter().position(|s| s.is_nan()) {
            return Err(BootstrapError::NanScore(i));
        }
        let mut order: Vec<u32> = (0..scores.len() as u32).collect();
        order.par_sort_unstable_by(|&a, &b| {
            scores[b as usize]
                .partial_cmp(&scores[a as usize])
                .unwrap_or(Ordering::Equal)
        });
        let mut codes = vec![0u32; scores.len()];
        let mut group = 0u32;
        for (rank, &item) in order.iter().enumerate() {
            if rank > 0 && scores[item as usize] != scores[order[rank - 1] as usize] {
                group += 1;
            }
            codes[item as usize] = 2 * group + u32::from(y_true[item as usize]);
        }
        let groups = if scores.is_empty() { 0 } else { group as usize + 1 };
        Ok(Self { codes, groups })
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// AUROC and average precision of resample `stream` under `seed`; `counts` is scratch
    /// of length `2 * groups`.
    pub fn resample(&self, seed: u64, stream: u64, counts: &mut [u32]) -> (f64, f64) {
        let n = self.codes.len() as u64;
        counts.fill(0);
        let key = rng::stream_key(seed, stream);
        for j in 0..n {
            let item = rng::draw(key, j, n) as usize;
            counts[self.codes[item] as usize] += 1;
        }
        curve_areas(counts)
    }
}

/// AUROC and average precision from per-group (negative, positive) counts in descending score order.
pub fn curve_areas(counts: &[u32]) -> (f64, f64) {
    let positives: u64 = counts.iter().skip(1).step_by(2).map(|&c| u64::from(c)).sum();
    let total: u64 = counts.iter().map(|&c| u64::from(c)).sum();
    let negatives = total - positives;
    if positives == 0 || negatives == 0 {
        return (f64::NAN, f64::NAN);
    }
    let (p, mut tp, mut fp) = (positives as f64, 0u64, 0u64);
    let mut twice_area = 0u64;
    let (mut ap, mut recall_prev) = (0.0f64, 0.0f64);
    for pair in counts.chunks_exact(2) {
        let (neg, pos) = (u64::from(pair[0]), u64::from(pair[1]));
        if neg + pos == 0 {
            continue;
        }
        twice_area += neg * (2 * tp + pos);
        tp += pos;
        fp += neg;
        let recall = tp as f64 / p;
        ap += (recall - recall_prev) * (tp as f64 / (tp + fp) as f64);
        recall_prev = recall;
    }
    (twice_area as f64 / (2.0 * p * negatives as f64), ap)
}

/// Fill `auroc` and `auprc` (one entry per resample) in parallel over resamples.
pub fn bootstrap_auc(prepared: &Prepared, seed: u64, auroc: &mut [f64], auprc: &mut [f64]) {
    let groups = prepared.groups;
    auroc
        .par_iter_mut()
        .zip(auprc.par_iter_mut())
        .enumerate()
        .with_min_len(4)
        .for_each_init(
            || vec![0u32; 2 * groups],
            |counts, (i, (roc, pr))| {
                (*roc, *pr) = prepared.resample(seed, i as u64, counts);
            },
        );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute-force AUROC over all pairs and AP over thresholds, on an explicit sample.
    fn brute(y: &[u8], s: &[f64]) -> (f64, f64) {
        let (mut wins, mut pos, mut neg) = (0.0, 0.0, 0.0);
        for i in 0..y.len() {
            if y[i] == 1 {
                pos += 1.0;
            } else {
                neg += 1.0;
            }
            for j in 0..y.len() {
                if y[i] == 1 && y[j] == 0 {
                    wins += if s[i] > s[j] {
                        1.0
                    } else if s[i] == s[j] {
                        0.5
                    } else {
                        0.0
                    };
                }
            }
        }
        let mut thresholds: Vec<f64> = s.to_vec();
        thresholds.sort_by(|a, b| b.partial_cmp(a).unwrap());
        thresholds.dedup();
        let (mut ap, mut prev_recall) = (0.0, 0.0);
        for t in thresholds {
            let tp = (0..y.len()).filter(|&i| s[i] >= t && y[i] == 1).count() as f64;
            let predicted = (0..y.len()).filter(|&i| s[i] >= t).count() as f64;
            ap += (tp / pos - prev_recall) * tp / predicted;
            prev_recall = tp / pos;
        }
        (wins / (pos * neg), ap)
    }

    fn sample(n: usize, seed: u64) -> (Vec<u8>, Vec<f64>) {
        let key = rng::stream_key(seed, 99);
        let y: Vec<u8> = (0..n).map(|j| rng::draw(key, j as u64, 2) as u8).collect();
        // coarse scores so ties are common
        let s: Vec<f64> = (0..n)
            .map(|j| rng::draw(key, (n + j) as u64, 7) as f64 / 7.0 + 0.1 * y[j] as f64)
            .collect();
        (y, s)
    }

    #[test]
    fn resample_matches_brute_force_on_the_drawn_sample() {
        let (y, s) = sample(60, 1);
        let prepared = Prepared::new(&y, &s).unwrap();
        let mut counts = vec![0u32; 2 * prepared.groups];
        for stream in 0..20u64 {
            let key = rng::stream_key(5, stream);
            let idx: Vec<usize> = (0..60).map(|j| rng::draw(key, j, 60) as usize).collect();
            let ry: Vec<u8> = idx.iter().map(|&i| y[i]).collect();
            let rs: Vec<f64> = idx.iter().map(|&i| s[i]).collect();
            let (roc, pr) = prepared.resample(5, stream, &mut counts);
            let (broc, bpr) = brute(&ry, &rs);
            assert!((roc - broc).abs() < 1e-12, "auroc {roc} vs {broc}");
            assert!((pr - bpr).abs() < 1e-12, "ap {pr} vs {bpr}");
        }
    }

    #[test]
    fn parallel_run_equals_sequential_and_single_class_is_nan() {
        let (y, s) = sample(200, 2);
        let prepared = Prepared::new(&y, &s).unwrap();
        let (mut roc, mut pr) = (vec![0.0; 50], vec![0.0; 50]);
        crate::pool::install(|| bootstrap_auc(&prepared, 11, &mut roc, &mut pr));
        let mut counts = vec![0u32; 2 * prepared.groups];
        for i in 0..50 {
            let (r, p) = prepared.resample(11, i as u64, &mut counts);
            assert_eq!(r.to_bits(), roc[i].to_bits());
            assert_eq!(p.to_bits(), pr[i].to_bits());
        }
        let ones = Prepared::new(&[1, 1, 1], &[0.1, 0.2, 0.3]).unwrap();
        let mut counts = vec![0u32; 2 * ones.groups];
        assert!(ones.resample(0, 0, &mut counts).0.is_nan());
    }

    #[test]
    fn invalid_inputs_are_refused() {
        assert_eq!(
            Prepared::new(&[0, 2], &[0.1, 0.2]).err(),
            Some(BootstrapError::BadLabel(1))
        );
        assert_eq!(
            Prepared::new(&[0, 1], &[f64::NAN, 0.2]).err(),
            Some(BootstrapError::NanScore(0))
        );
        assert_eq!(
            Prepared::new(&[0], &[0.1, 0.2]).err(),
            Some(BootstrapError::LengthMismatch(1, 2))
        );
    }
}
