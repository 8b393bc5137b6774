//! Resampling taps of one axis: Pillow-style antialiased bilinear (triangle filter).
//!
//! The math is `medfusion_core.imageops.axis_weights`: for output `i` the centre is
//! `start + (i + 0.5) * scale` with `scale = length / out`; the filter is stretched by
//! `filterscale = max(scale, 1)`; the weight of source pixel `x` is
//! `max(0, 1 - |((x - centre) + 0.5) / filterscale|)`, over pixels inside the image only,
//! normalised to sum 1 (all zero when nothing is inside).

use crate::strided::Acc;

/// Taps of every output position of one axis, `width` weights each (zero-padded), in precision `W`.
#[derive(Clone, Debug)]
pub struct Taps<W = f64> {
    /// First source index of each output position.
    pub first: Vec<usize>,
    /// Number of used weights of each output position.
    pub count: Vec<usize>,
    /// `out * width` weights, row `i` for output `i`.
    pub weights: Vec<W>,
    /// Weights stored per output position.
    pub width: usize,
}

impl Taps<f64> {
    /// Taps resampling `[start, start + length)` of an axis of `in_size` pixels to `out_size`;
    /// `flip` stores output `i` at `out_size - 1 - i`.
    #[inline] // compiled into the kernel's AVX2 instance, where `floor` is one instruction
    pub fn new(in_size: usize, start: f64, length: f64, out_size: usize, flip: bool) -> Self {
        let scale = length / out_size as f64;
        let filterscale = scale.max(1.0);
        let support = filterscale;
        let ss = 1.0 / filterscale;
        let width = (support.ceil() as usize) * 2 + 2;
        let mut taps = Self {
            first: vec![0; out_size],
            count: vec![0; out_size],
            weights: vec![0.0; out_size * width],
            width,
        };
        for i in 0..out_size {
            let slot = if flip { out_size - 1 - i } else { i };
            let center = start + (i as f64 + 0.5) * scale;
            let lo = ((center - support + 0.5).floor().max(0.0) as usize).min(in_size);
            let hi = ((center + support + 0.5).floor().max(0.0) as usize)
                .min(in_size)
                .max(lo);
            let row = &mut taps.weights[slot * width..(slot + 1) * width];
            let n = (hi - lo).min(width);
            let mut total = 0.0;
            for (k, w) in row.iter_mut().enumerate().take(n) {
                let t = (((lo + k) as f64 - center) + 0.5) * ss;
                *w = (1.0 - t.abs()).max(0.0);
                total += *w;
            }
            if total != 0.0 {
                row.iter_mut().take(n).for_each(|w| *w /= total);
            }
            taps.first[slot] = lo;
            taps.count[slot] = n;
        }
        taps
    }

    /// Whether this axis maps `n` pixels to `n` pixels one to one (weight 1 at the same index).
    pub fn is_identity(&self) -> bool {
        (0..self.len()).all(|i| {
            let (first, w) = self.of(i);
            first == i && w.first() == Some(&1.0) && w[1..].iter().all(|&v| v == 0.0)
        })
    }
}

impl<W: Acc> Taps<W> {
    /// The same taps with weights in precision `A`.
    pub fn cast<A: Acc>(&self) -> Taps<A> {
        Taps {
            first: self.first.clone(),
            count: self.count.clone(),
            weights: self.weights.iter().map(|w| A::weight(w.wide())).collect(),
            width: self.width,
        }
    }

    /// Weights of output position `i` (only the used ones).
    #[inline(always)]
    pub fn of(&self, i: usize) -> (usize, &[W]) {
        let row = &self.weights[i * self.width..i * self.width + self.count[i]];
        (self.first[i], row)
    }

    /// Number of output positions.
    pub fn len(&self) -> usize {
        self.first.len()
    }

    /// Whether there are no output positions.
    pub fn is_empty(&self) -> bool {
        self.first.is_empty()
    }

    /// The source range `[lo, hi)` any output position reads.
    pub fn span(&self) -> (usize, usize) {
        let lo = self.first.iter().copied().min().unwrap_or(0);
        let hi = (0..self.len())
            .map(|i| self.first[i] + self.count[i])
            .max()
            .unwrap_or(0);
        (lo, hi.max(lo))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_sum_to_one_and_cover_the_triangle() {
        for &(n, start, len, m) in &[(512, 0.0, 512.0, 224), (37, 3.5, 20.25, 50), (10, 0.0, 10.0, 3)] {
            let taps = Taps::new(n, start, len, m, false);
            for i in 0..m {
                let (first, w) = taps.of(i);
                let sum: f64 = w.iter().sum();
                assert!((sum - 1.0).abs() < 1e-12, "sum {sum}");
                assert!(first + w.len() <= n);
                // nothing outside the tap window can carry weight
                let scale = len / m as f64;
                let center = start + (i as f64 + 0.5) * scale;
                let fs = scale.max(1.0);
                for x in 0..n {
                    let inside = x >= first && x < first + w.len();
                    let t = ((x as f64 - center) + 0.5) / fs;
                    if !inside {
                        assert!(1.0 - t.abs() <= 0.0, "pixel {x} dropped for output {i}");
                    }
                }
            }
        }
    }

    #[test]
    fn identity_and_flip() {
        assert!(Taps::new(8, 0.0, 8.0, 8, false).is_identity());
        let flipped = Taps::new(8, 0.0, 8.0, 8, true);
        assert_eq!(flipped.of(0).0, 7);
        assert!(!Taps::new(8, 0.0, 8.0, 4, false).is_identity());
    }

    #[test]
    fn upscaling_interpolates_linearly() {
        // 2 -> 4: centres at 0.25, 0.75, 1.25, 1.75 in source pixel units.
        let taps = Taps::new(2, 0.0, 2.0, 4, false);
        let (first, w) = taps.of(1);
        let v = [10.0, 20.0];
        let value: f64 = w.iter().enumerate().map(|(k, w)| w * v[first + k]).sum();
        assert!((value - 12.5).abs() < 1e-12, "{value}");
    }
}
