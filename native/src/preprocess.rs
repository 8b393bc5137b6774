//! Fused crop -> antialiased resize -> flip -> window/scale -> normalise -> CHW store.
//!
//! Semantics are those of `medfusion_core.imageops.preprocess_into`: float64 arithmetic rounded
//! to f32 once, except that unsigned sources without a window accumulate in f32 (their scaled
//! values lie in [0, 1], so the result stays within the 1e-5 tolerance). The source is a strided
//! `[D, H, W, C]` view (2D images have `D = 1`); the output is a C-contiguous `[C, OD, OH, OW]`
//! f32 slice. For each output row the H taps combine whole source rows, then the W taps resample
//! that line (the reference resamples W first; the sums differ only by rounding), then D when it
//! is not the identity. A one-channel source is resampled once and written into every channel.

use rayon::prelude::*;

use crate::strided::{Acc, Sample, Strided4};
use crate::taps::Taps;

/// Per-image parameters (crop, flips, intensity mapping, normalisation).
#[derive(Clone, Debug)]
pub struct Params {
    /// Crop start per spatial axis (D, H, W), in source pixels.
    pub starts: [f64; 3],
    /// Crop length per spatial axis (D, H, W), in source pixels.
    pub lengths: [f64; 3],
    /// Flip per spatial axis (D, H, W).
    pub flip: [bool; 3],
    /// `(low, high)`: clip and scale to [0, 1]; `None`: divide by `divisor`.
    pub window: Option<(f64, f64)>,
    /// Divisor applied when there is no window (1 leaves values unchanged).
    pub divisor: f64,
    /// Mean per output channel.
    pub mean: Vec<f64>,
    /// Standard deviation per output channel.
    pub std: Vec<f64>,
}

impl Params {
    /// The whole image of `shape` (`[D, H, W]`), no flip, no window, no normalisation.
    pub fn whole(shape: [usize; 3], channels: usize) -> Self {
        Self {
            starts: [0.0; 3],
            lengths: shape.map(|n| n as f64),
            flip: [false; 3],
            window: None,
            divisor: 1.0,
            mean: vec![0.0; channels],
            std: vec![1.0; channels],
        }
    }
}

/// An image source of any supported dtype.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    /// 8-bit unsigned.
    U8(Strided4<'a, u8>),
    /// 16-bit unsigned.
    U16(Strided4<'a, u16>),
    /// 16-bit signed.
    I16(Strided4<'a, i16>),
    /// 32-bit float.
    F32(Strided4<'a, f32>),
}

impl Source<'_> {
    /// Preprocess this source into `out` (`[C, OD, OH, OW]`, C-contiguous).
    pub fn preprocess_into(
        &self,
        out: &mut [f32],
        out_shape: [usize; 4],
        params: &Params,
    ) -> Result<(), String> {
        match self {
            Source::U8(s) => preprocess_into(s, out, out_shape, params),
            Source::U16(s) => preprocess_into(s, out, out_shape, params),
            Source::I16(s) => preprocess_into(s, out, out_shape, params),
            Source::F32(s) => preprocess_into(s, out, out_shape, params),
        }
    }
}

/// Preprocess many sources into consecutive `[C, OD, OH, OW]` blocks of `out`, in parallel over
/// images on the current rayon pool.
pub fn preprocess_batch(
    items: &[(Source<'_>, Params)],
    out: &mut [f32],
    item_shape: [usize; 4],
) -> Result<(), String> {
    let item_len: usize = item_shape.iter().product();
    if item_len == 0 || out.len() != item_len * items.len() {
        return Err(format!(
            "out holds {} values, expected {} images of {item_shape:?}",
            out.len(),
            items.len()
        ));
    }
    out.par_chunks_mut(item_len)
        .zip(items.par_iter())
        .with_max_len(1)
        .try_for_each(|(block, (source, params))| source.preprocess_into(block, item_shape, params))
}

/// Preprocess one strided `[D, H, W, C]` source into `out` (`[C, OD, OH, OW]`).
///
/// On x86-64 CPUs with AVX2 the same code is compiled with AVX2 enabled (wider vectors; no
/// fused multiply-add is introduced, so results are identical), and packed 1- or 3-channel
/// sources resampled in f32 take the AVX2 + FMA kernels of [`crate::simd`].
pub fn preprocess_into<T: Sample>(
    src: &Strided4<T>,
    out: &mut [f32],
    out_shape: [usize; 4],
    params: &Params,
) -> Result<(), String> {
    preprocess_with(src, out, out_shape, params, true)
}

/// [`preprocess_into`], with the [`crate::simd`] fast path allowed or not (`simd`).
fn preprocess_with<T: Sample>(
    src: &Strided4<T>,
    out: &mut [f32],
    out_shape: [usize; 4],
    params: &Params,
    simd: bool,
) -> Result<(), String> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { preprocess_avx2(src, out, out_shape, params, simd) };
    }
    preprocess_body(src, out, out_shape, params, simd)
}

/// [`preprocess_body`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn preprocess_avx2<T: Sample>(
    src: &Strided4<T>,
    out: &mut [f32],
    out_shape: [usize; 4],
    params: &Params,
    simd: bool,
) -> Result<(), String> {
    preprocess_body(src, out, out_shape, params, simd)
}

/// The kernel itself; every helper is `inline(always)` so it inherits the caller's target features.
#[inline(always)]
fn preprocess_body<T: Sample>(
    src: &Strided4<T>,
    out: &mut [f32],
    out_shape: [usize; 4],
    params: &Params,
    simd: bool,
) -> Result<(), String> {
    let [channels, od, oh, ow] = out_shape;
    let [d, h, w, src_channels] = src.shape;
    if out.len() != out_shape.iter().product::<usize>() || out.is_empty() {
        return Err(format!(
            "out has {} values, expected shape {out_shape:?}",
            out.len()
        ));
    }
    if src_channels != 1 && src_channels != channels {
        return Err(format!("source has {src_channels} channels, out has {channels}"));
    }
    if params.mean.len() != channels || params.std.len() != channels {
        return Err(format!("mean/std need {channels} values"));
    }
    if src.shape.contains(&0) {
        return Err("source is empty".to_string());
    }
    let tz = Taps::new(d, params.starts[0], params.lengths[0], od, params.flip[0]);
    let ty = Taps::new(h, params.starts[1], params.lengths[1], oh, params.flip[1]);
    let tx = Taps::new(w, params.starts[2], params.lengths[2], ow, params.flip[2]);
    if T::F32_EXACT && params.window.is_none() {
        resample_and_store::<T, f32>(src, (&tz, &ty.cast(), &tx.cast()), out, out_shape, params, simd);
    } else {
        resample_and_store::<T, f64>(src, (&tz, &ty, &tx), out, out_shape, params, simd);
    }
    Ok(())
}

/// Resample in H and W (accumulating in `A`), then along D when needed, and write `out`.
/// Without a D pass each output row is finished as soon as it is resampled (no plane buffers).
#[inline(always)]
fn resample_and_store<T: Sample, A: Acc>(
    src: &Strided4<T>,
    (tz, ty, tx): (&Taps, &Taps<A>, &Taps<A>),
    out: &mut [f32],
    [_, od, oh, ow]: [usize; 4],
    params: &Params,
    simd: bool,
) {
    let src_channels = src.shape[3];
    let (zlo, zhi) = tz.span();
    let (plane, block) = (oh * ow, od * oh * ow);
    let mut line = vec![A::default(); src.shape[2] * src_channels + 1]; // + 1: padding lane of resample_line
    let mut rows = vec![A::default(); src_channels * ow];
    if zlo == 0 && zhi == od && tz.is_identity() {
        for z in 0..od {
            resample_slice(src, z, (ty, tx), &mut line, &mut rows, simd, |oy, rows| {
                for (c, dst) in out.chunks_exact_mut(block).enumerate() {
                    let sc = if src_channels == 1 { 0 } else { c };
                    let at = z * plane + oy * ow;
                    finish(&rows[sc * ow..(sc + 1) * ow], &mut dst[at..at + ow], params, c);
                }
            });
        }
        return;
    }
    // [C_src][z][plane] in f64, then the D pass into [C_src][oz][plane]
    let depth = zhi - zlo;
    let mut slices = vec![0.0f64; src_channels * depth * plane];
    for z in zlo..zhi {
        resample_slice(src, z, (ty, tx), &mut line, &mut rows, simd, |oy, rows| {
            for (sc, row) in rows.chunks_exact(ow).enumerate() {
                let at = (sc * depth + z - zlo) * plane + oy * ow;
                slices[at..at + ow]
                    .iter_mut()
                    .zip(row)
                    .for_each(|(o, v)| *o = v.wide());
            }
        });
    }
    let mut volume = vec![0.0f64; src_channels * block];
    for (column, dst) in slices
        .chunks_exact(depth * plane)
        .zip(volume.chunks_exact_mut(block))
    {
        combine(tz, zlo, column, plane, dst);
    }
    for (c, dst) in out.chunks_exact_mut(block).enumerate() {
        let sc = if src_channels == 1 { 0 } else { c };
        finish(&volume[sc * block..(sc + 1) * block], dst, params, c);
    }
}

/// Resample depth slice `z` of every source channel, one output row at a time: the H taps
/// combine whole source rows into `line` (`[W * C_src]`, interleaved), the W taps resample it
/// into `rows` (`[C_src][OW]`), and `emit(oy, rows)` consumes the row. With `simd`, the
/// [`crate::simd`] kernels do both passes where they apply.
#[inline(always)]
fn resample_slice<T: Sample, A: Acc>(
    src: &Strided4<T>,
    z: usize,
    (ty, tx): (&Taps<A>, &Taps<A>),
    line: &mut [A],
    rows: &mut [A],
    simd: bool,
    mut emit: impl FnMut(usize, &[A]),
) {
    #[cfg(target_arch = "x86_64")]
    if let (true, Some(ty32), Some(tx32)) = (simd, A::as_f32_taps(ty), A::as_f32_taps(tx)) {
        if let Some(mut plan) = crate::simd::Plan::new(src, ty32, tx32) {
            for oy in 0..ty.len() {
                plan.row(
                    src,
                    z,
                    oy,
                    A::as_f32_mut(rows).expect("f32 taps come with f32 rows"),
                );
                emit(oy, rows);
            }
            return;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = simd;
    let ow = tx.len();
    let used = src.shape[2] * src.shape[3];
    for oy in 0..ty.len() {
        let (first, weights) = ty.of(oy);
        if weights.is_empty() {
            line[..used].fill(A::default());
        }
        for (k, &weight) in weights.iter().enumerate() {
            accumulate_row(src, z, first + k, weight, &mut line[..used], k == 0);
        }
        match src.shape[3] {
            1 => resample_line::<A, 1, 1>(line, tx, rows, ow),
            3 => resample_line::<A, 3, 4>(line, tx, rows, ow),
            n => resample_line_any(line, n, tx, rows, ow),
        }
        emit(oy, rows);
    }
}

/// `line[x * C + c] += weight * src[z, y, x, c]` over a whole row of every channel
/// (`=` instead of `+=` when `assign`).
#[inline(always)]
fn accumulate_row<T: Sample, A: Acc>(
    src: &Strided4<T>,
    z: usize,
    y: usize,
    weight: A,
    line: &mut [A],
    assign: bool,
) {
    if let Some(row) = src.pixel_row(z, y) {
        if assign {
            line.iter_mut()
                .zip(row)
                .for_each(|(l, &v)| *l = weight * A::of(v));
        } else {
            line.iter_mut()
                .zip(row)
                .for_each(|(l, &v)| *l += weight * A::of(v));
        }
    } else {
        let channels = src.shape[3];
        for c in 0..channels {
            let offset = src.row_offset(z, y, c);
            for (x, l) in line.iter_mut().skip(c).step_by(channels).enumerate() {
                let value = weight * A::of(src.at(offset, x));
                *l = if assign { value } else { *l + value };
            }
        }
    }
}

/// Resample an interleaved line of `N` channels along W into `rows` (`[N][OW]`, row stride `ow`).
/// Each tap loads `L >= N` values (one vector for `N = 3`, `L = 4`); the extra lanes read the
/// next pixel (or the line's padding) and are discarded.
#[inline(always)]
fn resample_line<A: Acc, const N: usize, const L: usize>(
    line: &[A],
    tx: &Taps<A>,
    rows: &mut [A],
    ow: usize,
) {
    for ox in 0..tx.len() {
        let (first, weights) = tx.of(ox);
        let mut acc = [A::default(); L];
        if let Some(last) = weights.len().checked_sub(1) {
            let span = &line[first * N..(first + last) * N + L];
            for (&w, px) in weights.iter().zip(span.windows(L).step_by(N)) {
                for lane in 0..L {
                    acc[lane] += w * px[lane];
                }
            }
        }
        for (c, value) in acc.into_iter().take(N).enumerate() {
            rows[c * ow + ox] = value;
        }
    }
}

/// [`resample_line`] for any channel count.
#[inline(always)]
fn resample_line_any<A: Acc>(line: &[A], channels: usize, tx: &Taps<A>, rows: &mut [A], ow: usize) {
    for ox in 0..tx.len() {
        let (first, weights) = tx.of(ox);
        for c in 0..channels {
            let mut acc = A::default();
            for (k, &w) in weights.iter().enumerate() {
                acc += w * line[(first + k) * channels + c];
            }
            rows[c * ow + ox] = acc;
        }
    }
}

/// Weighted sums of whole lines: `dst[i] = sum_k w_ik * src[first_i + k - lo]`, lines of `len` values.
#[inline(always)]
fn combine(taps: &Taps, lo: usize, src: &[f64], len: usize, dst: &mut [f64]) {
    for (i, line) in dst.chunks_exact_mut(len).enumerate() {
        let (first, weights) = taps.of(i);
        line.fill(0.0);
        for (k, &w) in weights.iter().enumerate() {
            let start = (first + k - lo) * len;
            for (o, &v) in line.iter_mut().zip(&src[start..start + len]) {
                *o += w * v;
            }
        }
    }
}

/// Intensity mapping and normalisation of one channel, rounded to f32 once.
///
/// The reference's divisions `((v / divisor) - mean) / std` are folded into one multiply-add
/// `v * a + b` (a relative difference of a few ulps of f64, far below f32 resolution).
#[inline(always)]
fn finish<A: Acc>(values: &[A], dst: &mut [f32], params: &Params, c: usize) {
    let inv_std = 1.0 / params.std[c];
    let shift = -params.mean[c] * inv_std;
    match params.window {
        Some((low, high)) => {
            let gain = inv_std / (high - low);
            for (o, &v) in dst.iter_mut().zip(values) {
                *o = ((v.wide().max(low).min(high) - low) * gain + shift) as f32;
            }
        }
        None => {
            // in the accumulator's precision: f32 only for unsigned sources, whose results are O(1 / std)
            let (gain, shift) = (A::weight(inv_std / params.divisor), A::weight(shift));
            for (o, &v) in dst.iter_mut().zip(values) {
                *o = (v * gain + shift).narrow();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(h: usize, w: usize) -> Vec<u8> {
        (0..h * w).map(|i| ((i % w) * 3 + (i / w) * 7) as u8).collect()
    }

    #[test]
    fn identity_size_copies_scaled_values() {
        let data = ramp(5, 7);
        let src = Strided4::contiguous(&data, [1, 5, 7, 1]).unwrap();
        let mut out = vec![0.0f32; 5 * 7];
        let mut params = Params::whole([1, 5, 7], 1);
        params.divisor = 255.0;
        preprocess_into(&src, &mut out, [1, 1, 5, 7], &params).unwrap();
        for (o, &v) in out.iter().zip(&data) {
            // uint8 without a window is computed in f32: within one f32 rounding step
            assert!((f64::from(*o) - f64::from(v) / 255.0).abs() < 1e-7);
        }
    }

    #[test]
    fn flips_mirror_exactly_and_gray_is_replicated() {
        let data = ramp(9, 11);
        let src = Strided4::contiguous(&data, [1, 9, 11, 1]).unwrap();
        let params = Params::whole([1, 9, 11], 3);
        let mut plain = vec![0.0f32; 3 * 4 * 5];
        preprocess_into(&src, &mut plain, [3, 1, 4, 5], &params).unwrap();
        let mut flipped = plain.clone();
        let p = Params {
            flip: [false, true, true],
            ..params
        };
        preprocess_into(&src, &mut flipped, [3, 1, 4, 5], &p).unwrap();
        for c in 0..3 {
            for y in 0..4 {
                for x in 0..5 {
                    assert_eq!(plain[c * 20 + y * 5 + x], flipped[c * 20 + (3 - y) * 5 + (4 - x)]);
                    assert_eq!(plain[c * 20 + y * 5 + x], plain[y * 5 + x]);
                }
            }
        }
    }

    #[test]
    fn constant_image_stays_constant_and_window_clips() {
        let data = vec![1000i16; 6 * 6 * 6];
        let src = Strided4::contiguous(&data, [6, 6, 6, 1]).unwrap();
        let mut out = vec![0.0f32; 4 * 3 * 5];
        let mut params = Params::whole([6, 6, 6], 1);
        params.window = Some((-100.0, 900.0));
        preprocess_into(&src, &mut out, [1, 4, 3, 5], &params).unwrap();
        assert!(out.iter().all(|&v| v == 1.0));
        params.window = Some((0.0, 2000.0));
        params.mean = vec![0.25];
        params.std = vec![0.5];
        preprocess_into(&src, &mut out, [1, 4, 3, 5], &params).unwrap();
        assert!(out.iter().all(|&v| (v - 0.5).abs() < 1e-6));
    }

    /// Values of `len` samples drawn from `mix64`, as `T` through `convert`.
    fn noise<T>(len: usize, seed: u64, convert: impl Fn(u64) -> T) -> Vec<T> {
        (0..len as u64)
            .map(|i| convert(crate::rng::mix64(seed * 1_000_003 + i)))
            .collect()
    }

    /// The fast path (where it applies) and the portable path agree to f32 rounding.
    fn assert_fast_matches_portable<T: Sample>(src: &Strided4<T>, out_shape: [usize; 4], params: &Params) {
        let len = out_shape.iter().product();
        let (mut fast, mut portable) = (vec![f32::NAN; len], vec![f32::NAN; len]);
        preprocess_with(src, &mut fast, out_shape, params, true).unwrap();
        preprocess_with(src, &mut portable, out_shape, params, false).unwrap();
        for (i, (a, b)) in fast.iter().zip(&portable).enumerate() {
            assert!(
                (a - b).abs() <= 2e-6 * (1.0 + b.abs()),
                "{i}: {a} vs {b} ({out_shape:?}, {:?})",
                src.shape
            );
        }
    }

    #[test]
    fn fast_path_matches_portable_path() {
        // (D, H, W) -> (OD, OH, OW): odd sizes, tails, up- and downscaling, many-tap downscaling
        let cases = [
            ([1, 37, 29], [1, 13, 11]),
            ([1, 512, 96], [1, 224, 40]),
            ([1, 9, 13], [1, 23, 31]),
            ([1, 203, 190], [1, 5, 3]),
            ([1, 8, 8], [1, 8, 8]),
            ([1, 4, 3], [1, 1, 2]),
            ([5, 17, 21], [3, 9, 19]),
        ];
        for (seed, &(shape, out)) in cases.iter().enumerate() {
            for channels in [1, 3, 4] {
                let dims = [shape[0], shape[1], shape[2], channels];
                let n: usize = dims.iter().product();
                let bytes = noise(n, seed as u64, |v| v as u8);
                let words = noise(n, seed as u64, |v| v as u16);
                let mut params = Params::whole(shape, channels);
                params.divisor = 255.0;
                params.mean = (0..channels).map(|c| 0.1 * c as f64).collect();
                params.std = (0..channels).map(|c| 0.2 + 0.1 * c as f64).collect();
                params.flip = [false, seed % 2 == 1, seed % 3 == 0];
                params.starts = [0.0, 0.5, 1.25];
                params.lengths = [shape[0] as f64, shape[1] as f64 - 0.5, shape[2] as f64 - 2.0];
                let out_shape = [channels, out[0], out[1], out[2]];
                let packed = Strided4::contiguous(&bytes, dims).unwrap();
                assert_fast_matches_portable(&packed, out_shape, &params);
                params.divisor = 65535.0;
                assert_fast_matches_portable(
                    &Strided4::contiguous(&words, dims).unwrap(),
                    out_shape,
                    &params,
                );
                // a gray source replicated into three output channels
                if channels == 1 {
                    let mut gray = Params::whole(shape, 3);
                    gray.flip = params.flip;
                    assert_fast_matches_portable(&packed, [3, out[0], out[1], out[2]], &gray);
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn fast_path_serves_packed_gray_and_rgb_only() {
        let data = noise(2 * 6 * 10 * 3, 7, |v| v as u8);
        let taps = Taps::new(6, 0.0, 6.0, 4, false).cast::<f32>();
        let cpu = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
        for channels in [1, 3] {
            let packed = Strided4::contiguous(&data[..60 * channels], [1, 6, 10, channels]).unwrap();
            assert_eq!(crate::simd::Plan::new(&packed, &taps, &taps).is_some(), cpu);
        }
        let four = Strided4::contiguous(&data[..240], [1, 6, 10, 4]).unwrap();
        assert!(crate::simd::Plan::new(&four, &taps, &taps).is_none());
        // every other pixel: not packed
        let strided = Strided4::new(&data, 0, [1, 6, 5, 3], [180, 30, 6, 1]).unwrap();
        assert!(crate::simd::Plan::new(&strided, &taps, &taps).is_none());
    }

    #[test]
    fn batch_equals_single_calls() {
        let a = ramp(16, 12);
        let b: Vec<u16> = (0..16 * 12).map(|i| (i * 300) as u16).collect();
        let items = [
            (
                Source::U8(Strided4::contiguous(&a, [1, 16, 12, 1]).unwrap()),
                Params::whole([1, 16, 12], 1),
            ),
            (
                Source::U16(Strided4::contiguous(&b, [1, 16, 12, 1]).unwrap()),
                Params::whole([1, 16, 12], 1),
            ),
        ];
        let mut batch = vec![0.0f32; 2 * 8 * 8];
        crate::pool::install(|| preprocess_batch(&items, &mut batch, [1, 1, 8, 8])).unwrap();
        for (i, (source, params)) in items.iter().enumerate() {
            let mut single = vec![0.0f32; 64];
            source.preprocess_into(&mut single, [1, 1, 8, 8], params).unwrap();
            assert_eq!(&batch[i * 64..(i + 1) * 64], &single[..]);
        }
        assert!(preprocess_batch(&items, &mut batch[..10], [1, 1, 8, 8]).is_err());
    }
}
