//! AVX2 + FMA fast path of the H and W resampling passes of `preprocess` (x86-64 only).
//!
//! It serves packed sources (`[W, C]` rows contiguous) with 1 or 3 channels accumulated in f32,
//! and computes the same sums as the portable path of `preprocess` in another order (fused
//! multiply-adds, tap sums split over vector lanes): results agree to a few f32 ulps.
//!
//! Per output row the H taps combine whole source rows eight values at a time, with every tap
//! summed in registers and the row written once. Three-channel lines are stored as RGBx (one
//! padding lane per pixel), so the W pass handles two taps of one output pixel per 8-lane
//! multiply-add; one-channel lines take eight taps per multiply-add, eight output pixels at a
//! time, reduced with a horizontal-add tree. The tap tables are zero-padded to whole vectors,
//! and the line carries enough zero padding past its end for the padded taps to read.

use std::arch::x86_64::*;

use crate::strided::{Sample, Strided4};
use crate::taps::Taps;

/// Per-slice tables and line buffer of the fast path.
pub struct Plan<'t> {
    channels: usize,
    width: usize,
    ty: &'t Taps<f32>,
    /// First source pixel of each output pixel.
    xfirst: Vec<usize>,
    /// Per output pixel `xstride` weights: 1 channel: taps zero-padded to a multiple of 8;
    /// 3 channels: tap pairs `[w_2j x4, w_2j+1 x4]`.
    xweights: Vec<f32>,
    xstride: usize,
    /// The H-resampled line (1 channel: `[W]`; 3 channels: RGBx `[W][4]`) plus zero padding.
    line: Vec<f32>,
}

impl<'t> Plan<'t> {
    /// A plan for `src`, or `None` when the fast path does not apply (no AVX2/FMA, strided
    /// pixels, or a channel count other than 1 and 3).
    pub fn new<T: Sample>(src: &Strided4<T>, ty: &'t Taps<f32>, tx: &Taps<f32>) -> Option<Self> {
        let [_, h, width, channels] = src.shape;
        let usable = is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && (channels == 1 || channels == 3)
            && h > 0
            && src.pixel_row(0, 0).is_some();
        if !usable {
            return None;
        }
        let widest = tx.count.iter().copied().max().unwrap_or(0).max(1);
        let (xstride, lanes_per_pixel) = if channels == 1 {
            (widest.div_ceil(8) * 8, 1)
        } else {
            (widest.div_ceil(2) * 8, 4)
        };
        let mut xweights = vec![0.0f32; tx.len() * xstride];
        for (ox, row) in xweights.chunks_exact_mut(xstride).enumerate() {
            let (_, weights) = tx.of(ox);
            if channels == 1 {
                row[..weights.len()].copy_from_slice(weights);
            } else {
                for (k, &w) in weights.iter().enumerate() {
                    row[k * 4..k * 4 + 4].fill(w);
                }
            }
        }
        // padded taps read up to `first + taps` pixels, and `first <= width - count`
        let taps = xstride / lanes_per_pixel;
        let line = vec![0.0f32; (width + taps) * lanes_per_pixel];
        Some(Self {
            channels,
            width,
            ty,
            xfirst: tx.first.clone(),
            xweights,
            xstride,
            line,
        })
    }

    /// Resample output row `oy` of depth slice `z` into `rows` (`[C][OW]`).
    pub fn row<T: Sample>(&mut self, src: &Strided4<T>, z: usize, oy: usize, rows: &mut [f32]) {
        let (first, weights) = self.ty.of(oy);
        let mut sources = [std::ptr::null::<T>(); MAX_TAPS];
        let mut taps = [0.0f32; MAX_TAPS];
        let ow = self.xfirst.len();
        assert!(rows.len() >= self.channels * ow);
        let mut ahead = Ahead::default();
        if oy + AHEAD < self.ty.len() {
            // source rows that output row `oy + AHEAD` adds, fetched while this one is computed
            let (before, seen) = (self.ty.first[oy + AHEAD - 1], self.ty.count[oy + AHEAD - 1]);
            let (next, count) = (self.ty.first[oy + AHEAD], self.ty.count[oy + AHEAD]);
            for y in (next..next + count).filter(|y| !(before..before + seen).contains(y)) {
                ahead.push(src.pixel_row(z, y).expect("packed source"));
            }
        }
        for chunk in (0..weights.len()).step_by(MAX_TAPS) {
            let n = (weights.len() - chunk).min(MAX_TAPS);
            for k in 0..n {
                let row = src.pixel_row(z, first + chunk + k).expect("packed source");
                assert_eq!(row.len(), self.width * self.channels);
                sources[k] = row.as_ptr();
                taps[k] = weights[chunk + k];
            }
            // SAFETY: `new` checked AVX2 and FMA; each source row holds `width * channels`
            // values and the line `(width + padding) * lanes` (asserted / built in `new`).
            unsafe {
                if self.channels == 1 {
                    vertical_gray(
                        &sources[..n],
                        &taps[..n],
                        &mut self.line[..self.width],
                        chunk > 0,
                        &mut ahead,
                    );
                } else {
                    vertical_rgb(
                        &sources[..n],
                        &taps[..n],
                        &mut self.line[..self.width * 4],
                        chunk > 0,
                        &mut ahead,
                    );
                }
            }
        }
        if weights.is_empty() {
            self.line.fill(0.0);
        }
        let (line, first, weights, stride) =
            (&self.line[..], &self.xfirst[..], &self.xweights[..], self.xstride);
        let rows = &mut rows[..self.channels * ow];
        // SAFETY: as above; every `xfirst + taps` stays inside the padded line (see `new`).
        unsafe {
            match (self.channels, stride / 8) {
                (1, 1) => horizontal_gray::<1>(line, first, weights, stride, rows),
                (1, 2) => horizontal_gray::<2>(line, first, weights, stride, rows),
                (1, _) => horizontal_gray::<0>(line, first, weights, stride, rows),
                (_, 1) => horizontal_rgb::<1>(line, first, weights, stride, rows, ow),
                (_, 2) => horizontal_rgb::<2>(line, first, weights, stride, rows, ow),
                (_, 3) => horizontal_rgb::<3>(line, first, weights, stride, rows, ow),
                (_, 4) => horizontal_rgb::<4>(line, first, weights, stride, rows, ow),
                _ => horizontal_rgb::<0>(line, first, weights, stride, rows, ow),
            }
        }
    }
}

/// Source rows to bring into the cache, one 64-byte line per [`Ahead::step`], so that the
/// prefetches spread over the computation instead of stalling it in a burst.
#[derive(Default)]
struct Ahead {
    rows: [(usize, usize); 8],
    len: usize,
    row: usize,
    offset: usize,
}

impl Ahead {
    /// Queue `values` (ignored when the queue is full).
    fn push<T>(&mut self, values: &[T]) {
        if self.len < self.rows.len() {
            self.rows[self.len] = (values.as_ptr() as usize, std::mem::size_of_val(values));
            self.len += 1;
        }
    }

    /// Prefetch the next queued line into the L2 cache.
    #[inline(always)]
    fn step(&mut self) {
        if self.row < self.len {
            let (start, bytes) = self.rows[self.row];
            // SAFETY: the address lies inside a queued slice; a prefetch never faults or writes.
            unsafe { _mm_prefetch::<_MM_HINT_T1>((start + self.offset) as *const i8) };
            self.offset += 64;
            if self.offset >= bytes {
                (self.row, self.offset) = (self.row + 1, 0);
            }
        }
    }
}

/// How many output rows ahead the source rows are prefetched.
const AHEAD: usize = 2;

/// Source rows combined per register pass (more taps are accumulated in further passes).
const MAX_TAPS: usize = 16;

/// `sum_k taps[k] * rows[k][at]` (the scalar tails of the H pass).
#[inline(always)]
unsafe fn tap_sum<T: Sample>(rows: &[*const T], taps: &[f32], at: usize) -> f32 {
    rows.iter()
        .zip(taps)
        .map(|(&row, &w)| w * (*row.add(at)).to_f32())
        .sum()
}

/// `line[x] (+)= sum_k taps[k] * rows[k][x]` over a one-channel line (`+=` when `add`).
#[target_feature(enable = "avx2,fma")]
unsafe fn vertical_gray<T: Sample>(
    rows: &[*const T],
    taps: &[f32],
    line: &mut [f32],
    add: bool,
    ahead: &mut Ahead,
) {
    let width = line.len();
    let out = line.as_mut_ptr();
    let mut x = 0;
    while x + 8 <= width {
        ahead.step();
        let mut acc = if add {
            _mm256_loadu_ps(out.add(x))
        } else {
            _mm256_setzero_ps()
        };
        for (&row, &w) in rows.iter().zip(taps) {
            acc = _mm256_fmadd_ps(_mm256_set1_ps(w), T::load8(row.add(x)), acc);
        }
        _mm256_storeu_ps(out.add(x), acc);
        x += 8;
    }
    for (x, value) in line.iter_mut().enumerate().skip(x) {
        *value = tap_sum(rows, taps, x) + if add { *value } else { 0.0 };
    }
}

/// [`vertical_gray`] over interleaved three-channel rows, stored as RGBx (`line` holds `W * 4`).
#[target_feature(enable = "avx2,fma")]
unsafe fn vertical_rgb<T: Sample>(
    rows: &[*const T],
    taps: &[f32],
    line: &mut [f32],
    add: bool,
    ahead: &mut Ahead,
) {
    let width = line.len() / 4;
    let out = line.as_mut_ptr();
    // lanes of the three accumulators that make RGBx pixels 0-1, 2-3, 4-5, 6-7
    let lo_a = _mm256_setr_epi32(0, 1, 2, 2, 3, 4, 5, 5);
    let mid_a = _mm256_setr_epi32(6, 7, 7, 7, 7, 7, 7, 7);
    let mid_b = _mm256_setr_epi32(0, 0, 0, 0, 1, 2, 3, 3);
    let hi_b = _mm256_setr_epi32(4, 5, 6, 6, 7, 7, 7, 7);
    let hi_c = _mm256_setr_epi32(0, 0, 0, 0, 0, 0, 1, 1);
    let top_c = _mm256_setr_epi32(2, 3, 4, 4, 5, 6, 7, 7);
    let mut x = 0;
    while x + 8 <= width {
        ahead.step();
        let dst = out.add(x * 4);
        let (mut a, mut b, mut c) = (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps());
        for (&row, &w) in rows.iter().zip(taps) {
            let (w, p) = (_mm256_set1_ps(w), row.add(x * 3));
            a = _mm256_fmadd_ps(w, T::load8(p), a);
            b = _mm256_fmadd_ps(w, T::load8(p.add(8)), b);
            c = _mm256_fmadd_ps(w, T::load8(p.add(16)), c);
        }
        let pixels = [
            _mm256_permutevar8x32_ps(a, lo_a),
            _mm256_blend_ps::<0b1111_1100>(
                _mm256_permutevar8x32_ps(a, mid_a),
                _mm256_permutevar8x32_ps(b, mid_b),
            ),
            _mm256_blend_ps::<0b1110_0000>(
                _mm256_permutevar8x32_ps(b, hi_b),
                _mm256_permutevar8x32_ps(c, hi_c),
            ),
            _mm256_permutevar8x32_ps(c, top_c),
        ];
        for (i, &v) in pixels.iter().enumerate() {
            let at = dst.add(i * 8);
            let v = if add {
                _mm256_add_ps(_mm256_loadu_ps(at), v)
            } else {
                v
            };
            _mm256_storeu_ps(at, v);
        }
        x += 8;
    }
    for x in x..width {
        for c in 0..3 {
            line[x * 4 + c] = tap_sum(rows, taps, x * 3 + c) + if add { line[x * 4 + c] } else { 0.0 };
        }
    }
}

/// Sum of the eight lanes of each of `v` (eight vectors), as one vector.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn sum_lanes8(v: &[__m256; 8]) -> __m256 {
    let q0 = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(v[2], v[3]));
    let q1 = _mm256_hadd_ps(_mm256_hadd_ps(v[4], v[5]), _mm256_hadd_ps(v[6], v[7]));
    _mm256_add_ps(
        _mm256_permute2f128_ps::<0x20>(q0, q1),
        _mm256_permute2f128_ps::<0x31>(q0, q1),
    )
}

/// Vectors per output pixel in the W pass: `V`, or `dynamic` when `V` is 0 (uncommon widths).
#[inline(always)]
fn vectors<const V: usize>(dynamic: usize) -> usize {
    if V == 0 {
        dynamic
    } else {
        V
    }
}

/// `sum_j weights[ox * stride + j] * line[at + j]` over `vectors` whole vectors, lane by lane.
#[inline(always)]
unsafe fn dot(line: *const f32, at: usize, weights: *const f32, vectors: usize) -> __m256 {
    let mut acc = _mm256_mul_ps(_mm256_loadu_ps(weights), _mm256_loadu_ps(line.add(at)));
    for j in 1..vectors {
        let px = _mm256_loadu_ps(line.add(at + j * 8));
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(weights.add(j * 8)), px, acc);
    }
    acc
}

/// W pass of a one-channel line: `out[ox] = sum_j weights[ox][j] * line[first[ox] + j]`
/// (`V` vectors of weights per output pixel, see [`vectors`]).
#[target_feature(enable = "avx2,fma")]
unsafe fn horizontal_gray<const V: usize>(
    line: &[f32],
    first: &[usize],
    weights: &[f32],
    stride: usize,
    out: &mut [f32],
) {
    let (src, w, n) = (line.as_ptr(), weights.as_ptr(), vectors::<V>(stride / 8));
    let mut ox = 0;
    while ox + 8 <= out.len() {
        let mut accs = [_mm256_setzero_ps(); 8];
        for (i, acc) in accs.iter_mut().enumerate() {
            *acc = dot(src, first[ox + i], w.add((ox + i) * stride), n);
        }
        _mm256_storeu_ps(out.as_mut_ptr().add(ox), sum_lanes8(&accs));
        ox += 8;
    }
    for ox in ox..out.len() {
        let mut accs = [_mm256_setzero_ps(); 8];
        accs[0] = dot(src, first[ox], w.add(ox * stride), n);
        out[ox] = _mm256_cvtss_f32(sum_lanes8(&accs));
    }
}

/// W pass of an RGBx line into planar rows `out` (`[3][ow]`), two taps per multiply-add
/// (`V` as in [`horizontal_gray`]); eight output pixels are transposed and stored together.
#[target_feature(enable = "avx2,fma")]
unsafe fn horizontal_rgb<const V: usize>(
    line: &[f32],
    first: &[usize],
    weights: &[f32],
    stride: usize,
    out: &mut [f32],
    ow: usize,
) {
    let (src, w, n) = (line.as_ptr(), weights.as_ptr(), vectors::<V>(stride / 8));
    let (r, rest) = out.split_at_mut(ow);
    let (g, b) = rest.split_at_mut(ow);
    let mut ox = 0;
    while ox + 8 <= ow {
        // pairs[i] = [RGBx of ox + i | RGBx of ox + 4 + i]
        let mut pairs = [_mm256_setzero_ps(); 4];
        for (i, pair) in pairs.iter_mut().enumerate() {
            let (a, c) = (ox + i, ox + 4 + i);
            let lo = dot(src, first[a] * 4, w.add(a * stride), n);
            let hi = dot(src, first[c] * 4, w.add(c * stride), n);
            *pair = _mm256_add_ps(
                _mm256_permute2f128_ps::<0x20>(lo, hi),
                _mm256_permute2f128_ps::<0x31>(lo, hi),
            );
        }
        let rg01 = _mm256_unpacklo_ps(pairs[0], pairs[1]); // r0 r1 g0 g1 | r4 r5 g4 g5
        let bx01 = _mm256_unpackhi_ps(pairs[0], pairs[1]);
        let rg23 = _mm256_unpacklo_ps(pairs[2], pairs[3]);
        let bx23 = _mm256_unpackhi_ps(pairs[2], pairs[3]);
        _mm256_storeu_ps(
            r.as_mut_ptr().add(ox),
            _mm256_shuffle_ps::<0b01_00_01_00>(rg01, rg23),
        );
        _mm256_storeu_ps(
            g.as_mut_ptr().add(ox),
            _mm256_shuffle_ps::<0b11_10_11_10>(rg01, rg23),
        );
        _mm256_storeu_ps(
            b.as_mut_ptr().add(ox),
            _mm256_shuffle_ps::<0b01_00_01_00>(bx01, bx23),
        );
        ox += 8;
    }
    for ox in ox..ow {
        let acc = dot(src, first[ox] * 4, w.add(ox * stride), n);
        let sum = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps::<1>(acc));
        let mut rgbx = [0.0f32; 4];
        _mm_storeu_ps(rgbx.as_mut_ptr(), sum);
        (r[ox], g[ox], b[ox]) = (rgbx[0], rgbx[1], rgbx[2]);
    }
}
