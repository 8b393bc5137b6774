//! One batch of views, read and prepared in parallel (`medfusion_core.viewops.fill_views`).
//!
//! Each [`ViewJob`] names a source image (a PNG path, decoded here, or an array already in
//! memory), its optional lesion mask and the batch slot it fills, with the augmentation the
//! caller sampled. Per view: decode -> `preprocess_into` (crop, resize, flip, window,
//! normalise) -> rotation (each channel filled with its normalised black) -> intensity jitter;
//! the mask (binarised when decoded here) gets the same crop, flip and rotation (fill 0).
//! Views are spread over the current rayon pool; a view that fails (unreadable or unsupported
//! file, shape mismatch, even a panic) is reported back, never aborts the batch.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use rayon::prelude::*;

use crate::decode::{read_png, Image, Pixels};
use crate::preprocess::{Params, Source};
use crate::strided::Strided4;
use crate::{jitter, rotate};

/// Where the pixels of an image or mask come from.
pub enum Input<'a> {
    /// A PNG file, decoded by [`read_png`].
    Path(PathBuf),
    /// A decoded `[D, H, W, C]` array (masks: already binarised, f32).
    Array(Source<'a>),
}

/// One view to write into slot `slot` of the batch.
pub struct ViewJob<'a> {
    /// The image.
    pub image: Input<'a>,
    /// The lesion mask, if the view has one.
    pub mask: Option<Input<'a>>,
    /// Row of the `[slots, C, D, H, W]` output.
    pub slot: usize,
    /// `(side, top, left)`: keep `side` of each 2D axis at `top`/`left` of the free range.
    pub crop: Option<[f64; 3]>,
    /// Flip per spatial axis (D, H, W).
    pub flip: [bool; 3],
    /// Intensity window of the image (`None`: dtype scaling).
    pub window: Option<(f64, f64)>,
    /// Rotation in degrees (2D only).
    pub degrees: f64,
    /// Intensity jitter `x * scale + shift` on normalised values.
    pub scale: f64,
    /// See `scale`.
    pub shift: f64,
}

/// Batch outputs: images `[slots, C, D, H, W]` and optional masks `[slots, 1, D, H, W]`, C-contiguous.
pub struct Outputs<'o> {
    /// Image values.
    pub images: &'o mut [f32],
    /// Mask values.
    pub masks: Option<&'o mut [f32]>,
    /// `[C, D, H, W]` of one view.
    pub view_shape: [usize; 4],
}

/// Per-channel normalisation of the images.
pub struct Norm {
    /// Mean per channel.
    pub mean: Vec<f64>,
    /// Standard deviation per channel.
    pub std: Vec<f64>,
}

/// Fill every job's slot; returns `(job index, reason)` of the views that could not be filled.
/// Errors only for a malformed batch (sizes, slots out of range or repeated).
pub fn fill_views(
    jobs: &[ViewJob<'_>],
    out: Outputs<'_>,
    norm: &Norm,
) -> Result<Vec<(usize, String)>, String> {
    let [channels, d, h, w] = out.view_shape;
    let plane = d * h * w;
    let view_len = channels * plane;
    if view_len == 0 || !out.images.len().is_multiple_of(view_len) {
        return Err(format!(
            "images hold {} values, not whole views of {:?}",
            out.images.len(),
            out.view_shape
        ));
    }
    if norm.mean.len() != channels || norm.std.len() != channels {
        return Err(format!("mean/std need {channels} values"));
    }
    let slots = out.images.len() / view_len;
    if matches!(&out.masks, Some(m) if m.len() != slots * plane) {
        return Err(format!("masks must hold {slots} views of {plane} values"));
    }
    let mut owner: Vec<Option<usize>> = vec![None; slots];
    for (i, job) in jobs.iter().enumerate() {
        match owner.get_mut(job.slot) {
            Some(entry @ None) => *entry = Some(i),
            Some(Some(_)) => return Err(format!("slot {} is given twice", job.slot)),
            None => return Err(format!("slot {} is outside the {slots} slots", job.slot)),
        }
    }
    let masks: Vec<Option<&mut [f32]>> = match out.masks {
        Some(m) => m.chunks_exact_mut(plane).map(Some).collect(),
        None => (0..slots).map(|_| None).collect(),
    };
    let shape = out.view_shape;
    Ok(out
        .images
        .par_chunks_exact_mut(view_len)
        .zip(masks)
        .zip(owner)
        .with_max_len(1)
        .filter_map(|((image, mask), owner)| {
            let i = owner?;
            let filled = catch_unwind(AssertUnwindSafe(|| fill_one(&jobs[i], image, mask, shape, norm)));
            match filled {
                Ok(Ok(())) => None,
                Ok(Err(reason)) => Some((i, reason)),
                Err(panic) => Some((i, format!("native panic: {}", panic_text(&*panic)))),
            }
        })
        .collect())
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown".to_string())
}

/// A decoded file kept alive while its source view is used.
enum Held<'a> {
    Decoded(Image),
    Mask(Vec<f32>, [usize; 4]),
    Borrowed(Source<'a>),
}

impl<'a> Held<'a> {
    fn image(input: &Input<'a>) -> Result<Self, String> {
        Ok(match input {
            Input::Path(path) => Self::Decoded(read_png(path).map_err(|e| e.to_string())?),
            Input::Array(source) => Self::Borrowed(*source),
        })
    }

    /// A mask from a file is binarised: 1 where any channel is non-zero.
    fn mask(input: &Input<'a>) -> Result<Self, String> {
        let Input::Path(path) = input else {
            return Self::image(input);
        };
        let image = read_png(path).map_err(|e| e.to_string())?;
        let [h, w, c] = image.shape;
        let values = match &image.pixels {
            Pixels::U8(data) => binarise(data, c),
            Pixels::U16(data) => binarise(data, c),
        };
        Ok(Self::Mask(values, [1, h, w, 1]))
    }

    fn source(&self) -> Result<Source<'_>, String> {
        Ok(match self {
            Self::Decoded(image) => image.source(),
            Self::Mask(values, shape) => {
                Source::F32(Strided4::contiguous(values, *shape).map_err(|_| "mask shape".to_string())?)
            }
            Self::Borrowed(source) => *source,
        })
    }
}

/// 1.0 for each pixel of `channels` interleaved samples with a non-zero sample, else 0.0.
fn binarise<T: Copy + Default + PartialEq>(data: &[T], channels: usize) -> Vec<f32> {
    let zero = T::default();
    data.chunks_exact(channels)
        .map(|pixel| f32::from(u8::from(pixel.iter().any(|&v| v != zero))))
        .collect()
}

/// `[D, H, W, C]` and the divisor mapping a source's dtype to [0, 1] without a window.
fn shape_and_divisor(source: &Source<'_>) -> ([usize; 4], f64) {
    match source {
        Source::U8(s) => (s.shape, 255.0),
        Source::U16(s) => (s.shape, 65535.0),
        Source::I16(s) => (s.shape, 1.0),
        Source::F32(s) => (s.shape, 1.0),
    }
}

/// Crop starts and lengths (D, H, W) of `job` on an image of spatial shape `[D, H, W]`, computed
/// as `medfusion_core.data.augment.crop_box` does.
fn crop_box(crop: Option<[f64; 3]>, [d, h, w]: [usize; 3]) -> ([f64; 3], [f64; 3]) {
    let whole = [d as f64, h as f64, w as f64];
    match crop {
        None => ([0.0; 3], whole),
        Some([side, top, left]) => {
            let (height, width) = (whole[1] * side, whole[2] * side);
            (
                [0.0, top * (whole[1] - height), left * (whole[2] - width)],
                [whole[0], height, width],
            )
        }
    }
}

fn fill_one(
    job: &ViewJob<'_>,
    image: &mut [f32],
    mask: Option<&mut [f32]>,
    view_shape: [usize; 4],
    norm: &Norm,
) -> Result<(), String> {
    let held = Held::image(&job.image)?;
    let source = held.source()?;
    let ([d, h, w, _], divisor) = shape_and_divisor(&source);
    let (starts, lengths) = crop_box(job.crop, [d, h, w]);
    let params = Params {
        starts,
        lengths,
        flip: job.flip,
        window: job.window,
        divisor,
        mean: norm.mean.clone(),
        std: norm.std.clone(),
    };
    source.preprocess_into(image, view_shape, &params)?;
    let fills: Vec<f64> = norm.mean.iter().zip(&norm.std).map(|(m, s)| -m / s).collect();
    rotate_channels(image, view_shape, job.degrees, &fills)?;
    if job.scale != 1.0 || job.shift != 0.0 {
        jitter::intensity_jitter(image, job.scale, job.shift);
    }
    if let (Some(out), Some(input)) = (mask, &job.mask) {
        let held = Held::mask(input)?;
        let source = held.source()?;
        let mask_shape = [1, view_shape[1], view_shape[2], view_shape[3]];
        let params = Params {
            starts,
            lengths,
            flip: job.flip,
            window: None,
            divisor: 1.0,
            mean: vec![0.0],
            std: vec![1.0],
        };
        source.preprocess_into(out, mask_shape, &params)?;
        rotate_channels(out, mask_shape, job.degrees, &[0.0])?;
    }
    Ok(())
}

/// Rotate each `[H, W]` channel plane of a `[C, 1, H, W]` view in place, channel `c` filled with
/// `fills[c]` (no-op at 0 degrees).
fn rotate_channels(
    view: &mut [f32],
    [_, d, h, w]: [usize; 4],
    degrees: f64,
    fills: &[f64],
) -> Result<(), String> {
    if degrees == 0.0 {
        return Ok(());
    }
    if d != 1 {
        return Err("rotation needs a 2D view".to_string());
    }
    let mut copy = vec![0.0f32; h * w];
    for (plane, &fill) in view.chunks_exact_mut(h * w).zip(fills) {
        copy.copy_from_slice(plane);
        let source = Strided4::contiguous(&copy, [1, h, w, 1]).map_err(|_| "plane shape".to_string())?;
        rotate::rotate_into(&source, plane, degrees, fill)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocess::preprocess_into;

    const SHAPE: [usize; 4] = [1, 1, 6, 5];

    fn norm() -> Norm {
        Norm {
            mean: vec![0.5],
            std: vec![0.25],
        }
    }

    fn job<'a>(image: Input<'a>, mask: Option<Input<'a>>, slot: usize) -> ViewJob<'a> {
        ViewJob {
            image,
            mask,
            slot,
            crop: Some([0.8, 0.25, 0.75]),
            flip: [false, false, true],
            window: None,
            degrees: 12.0,
            scale: 1.1,
            shift: -0.05,
        }
    }

    fn write_png(path: &std::path::Path, width: u32, height: u32, data: &[u8]) {
        let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
        let mut encoder = png::Encoder::new(file, width, height);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.write_header().unwrap().write_image_data(data).unwrap();
    }

    /// The same view done step by step with the single-image kernels.
    fn expected(pixels: &[u8], mask: &[f32], job: &ViewJob<'_>) -> (Vec<f32>, Vec<f32>) {
        let src = Strided4::contiguous(pixels, [1, 8, 10, 1]).unwrap();
        let (starts, lengths) = crop_box(job.crop, [1, 8, 10]);
        let mut params = Params::whole([1, 8, 10], 1);
        (params.starts, params.lengths, params.flip, params.divisor) = (starts, lengths, job.flip, 255.0);
        (params.mean, params.std) = (vec![0.5], vec![0.25]);
        let mut image = vec![0.0f32; 30];
        preprocess_into(&src, &mut image, SHAPE, &params).unwrap();
        let copy = image.clone();
        let view = Strided4::contiguous(&copy, [1, 6, 5, 1]).unwrap();
        rotate::rotate_into(&view, &mut image, job.degrees, -2.0).unwrap();
        jitter::intensity_jitter(&mut image, job.scale, job.shift);
        let msrc = Strided4::contiguous(mask, [1, 8, 10, 1]).unwrap();
        (params.divisor, params.mean, params.std) = (1.0, vec![0.0], vec![1.0]);
        let mut out = vec![0.0f32; 30];
        preprocess_into(&msrc, &mut out, SHAPE, &params).unwrap();
        let copy = out.clone();
        let view = Strided4::contiguous(&copy, [1, 6, 5, 1]).unwrap();
        rotate::rotate_into(&view, &mut out, job.degrees, 0.0).unwrap();
        (image, out)
    }

    #[test]
    fn files_and_arrays_fill_their_slots_like_the_single_kernels() {
        let dir = std::env::temp_dir().join(format!("medfusion-views-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pixels: Vec<u8> = (0..80u32).map(|v| (v * 37 % 256) as u8).collect();
        let mask_bytes: Vec<u8> = (0..80u32).map(|v| if v % 7 < 3 { 255 } else { 0 }).collect();
        let mask: Vec<f32> = mask_bytes.iter().map(|&v| f32::from(u8::from(v > 0))).collect();
        write_png(&dir.join("image.png"), 10, 8, &pixels);
        write_png(&dir.join("mask.png"), 10, 8, &mask_bytes);
        let array = Source::U8(Strided4::contiguous(&pixels, [1, 8, 10, 1]).unwrap());
        let mask_array = Source::F32(Strided4::contiguous(&mask, [1, 8, 10, 1]).unwrap());
        let jobs = vec![
            job(
                Input::Path(dir.join("image.png")),
                Some(Input::Path(dir.join("mask.png"))),
                2,
            ),
            job(Input::Array(array), Some(Input::Array(mask_array)), 0),
            job(Input::Path(dir.join("missing.png")), None, 3),
        ];
        let (mut images, mut masks) = (vec![7.0f32; 4 * 30], vec![7.0f32; 4 * 30]);
        let outputs = Outputs {
            images: &mut images,
            masks: Some(&mut masks),
            view_shape: SHAPE,
        };
        let failed = fill_views(&jobs, outputs, &norm()).unwrap();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].0, 2);
        assert!(failed[0].1.contains("missing.png"), "{}", failed[0].1);
        let (image, out) = expected(&pixels, &mask, &jobs[0]);
        for slot in [0, 2] {
            assert_eq!(&images[slot * 30..(slot + 1) * 30], &image[..]);
            assert_eq!(&masks[slot * 30..(slot + 1) * 30], &out[..]);
        }
        assert!(
            images[30..60].iter().all(|&v| v == 7.0),
            "slot without a job is untouched"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn outputs(images: &mut [f32]) -> Outputs<'_> {
        Outputs {
            images,
            masks: None,
            view_shape: SHAPE,
        }
    }

    #[test]
    fn malformed_batches_are_errors() {
        let data = [1u8; 80];
        let source = || Input::Array(Source::U8(Strided4::contiguous(&data, [1, 8, 10, 1]).unwrap()));
        let mut images = vec![0.0f32; 2 * 30];
        let twice = [job(source(), None, 1), job(source(), None, 1)];
        assert!(fill_views(&twice, outputs(&mut images), &norm())
            .unwrap_err()
            .contains("twice"));
        let outside = [job(source(), None, 2)];
        assert!(fill_views(&outside, outputs(&mut images), &norm())
            .unwrap_err()
            .contains("outside"));
        let fine = [job(source(), None, 1)];
        assert_eq!(fill_views(&fine, outputs(&mut images), &norm()).unwrap(), vec![]);
    }

    #[test]
    fn a_panicking_view_is_reported_not_fatal() {
        let text = panic_text(&*catch_unwind(|| panic!("boom")).unwrap_err());
        assert_eq!(text, "boom");
    }
}
