//! The PyO3 layer: numpy arrays in, kernels run with the GIL released, numpy arrays out.
//!
//! The Python wrappers in `medfusion_plugin_native.kernels` validate user input, reshape
//! sources to `[D, H, W, C]` and raise MedFusion errors; the checks here only guard memory
//! safety and raise `ValueError`.

use std::panic::catch_unwind;
use std::path::PathBuf;

use numpy::ndarray::{ArrayView4, ArrayViewD, Axis, Ix4};
use numpy::{
    Element, PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray4, PyReadonlyArrayDyn,
    PyReadwriteArray4, PyReadwriteArrayDyn, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::decode::{probe_pngs as probe, read_png, Pixels};
use crate::preprocess::{Params, Source};
use crate::strided::{Sample, Strided4};
use crate::views::{Input, Norm, Outputs, ViewJob};
use crate::{bootstrap, jitter, pool, preprocess, rotate, views};

/// Per-resample AUROC and average precision arrays.
type Curves<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>);

/// Bootstrap AUROC and average precision (see `medfusion_core.kernels.bootstrap_auc`).
#[pyfunction]
fn bootstrap_auc<'py>(
    py: Python<'py>,
    y_true: PyReadonlyArray1<'py, u8>,
    scores: PyReadonlyArray1<'py, f64>,
    n_resamples: usize,
    seed: u64,
) -> PyResult<Curves<'py>> {
    let y = y_true.as_slice()?;
    let s = scores.as_slice()?;
    let (auroc, auprc) = py
        .detach(|| {
            pool::install(|| {
                let prepared = bootstrap::Prepared::new(y, s)?;
                let (mut auroc, mut auprc) = (vec![f64::NAN; n_resamples], vec![f64::NAN; n_resamples]);
                bootstrap::bootstrap_auc(&prepared, seed, &mut auroc, &mut auprc);
                Ok::<_, bootstrap::BootstrapError>((auroc, auprc))
            })
        })
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok((PyArray1::from_vec(py, auroc), PyArray1::from_vec(py, auprc)))
}

/// A strided view of a borrowed numpy array (any strides, negative included).
fn strided<'a, T: Sample>(view: &ArrayView4<'a, T>) -> PyResult<Strided4<'a, T>> {
    let shape = [view.shape()[0], view.shape()[1], view.shape()[2], view.shape()[3]];
    let strides = [
        view.strides()[0],
        view.strides()[1],
        view.strides()[2],
        view.strides()[3],
    ];
    let (mut low, mut high) = (0isize, 0isize);
    if !shape.contains(&0) {
        for axis in 0..4 {
            let reach = (shape[axis] as isize - 1) * strides[axis];
            if reach < 0 {
                low += reach;
            } else {
                high += reach;
            }
        }
    }
    // SAFETY: numpy guarantees every element of the array lies in [ptr + low, ptr + high];
    // the borrow `view` keeps the array alive and unaliased by writers for 'a.
    let data = unsafe { std::slice::from_raw_parts(view.as_ptr().offset(low), (high - low + 1) as usize) };
    Strided4::new(data, (-low) as usize, shape, strides)
        .map_err(|_| PyValueError::new_err("array view out of bounds"))
}

/// A borrowed source array of one of the supported dtypes.
enum Borrowed<'py> {
    U8(PyReadonlyArrayDyn<'py, u8>),
    U16(PyReadonlyArrayDyn<'py, u16>),
    I16(PyReadonlyArrayDyn<'py, i16>),
    F32(PyReadonlyArrayDyn<'py, f32>),
}

impl<'py> Borrowed<'py> {
    fn new(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        fn try_as<'py, T: Element>(obj: &Bound<'py, PyAny>) -> Option<PyReadonlyArrayDyn<'py, T>> {
            obj.extract::<PyReadonlyArrayDyn<'py, T>>().ok()
        }
        try_as::<u8>(obj)
            .map(Self::U8)
            .or_else(|| try_as::<u16>(obj).map(Self::U16))
            .or_else(|| try_as::<i16>(obj).map(Self::I16))
            .or_else(|| try_as::<f32>(obj).map(Self::F32))
            .ok_or_else(|| PyTypeError::new_err("source must be a uint8, uint16, int16 or float32 array"))
    }

    /// `[D, H, W, C]` views: 4D arrays as they are, `[H, W]` -> `[1, H, W, 1]`, and a 3D array
    /// is `[D, H, W]` for a `volume`, else `[H, W, C]`.
    fn views(&self, volume: bool) -> PyResult<Views<'_>> {
        Ok(match self {
            Self::U8(a) => Views::U8(as4(a.as_array(), volume)?),
            Self::U16(a) => Views::U16(as4(a.as_array(), volume)?),
            Self::I16(a) => Views::I16(as4(a.as_array(), volume)?),
            Self::F32(a) => Views::F32(as4(a.as_array(), volume)?),
        })
    }
}

/// See [`Borrowed::views`].
fn as4<T>(view: ArrayViewD<'_, T>, volume: bool) -> PyResult<ArrayView4<'_, T>> {
    let view = match (view.ndim(), volume) {
        (4, _) => view,
        (2, _) => view.insert_axis(Axis(0)).insert_axis(Axis(3)),
        (3, false) => view.insert_axis(Axis(0)),
        (3, true) => view.insert_axis(Axis(3)),
        (n, _) => return Err(PyValueError::new_err(format!("source has {n} dimensions"))),
    };
    view.into_dimensionality::<Ix4>()
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// ndarray views of a [`Borrowed`] array.
enum Views<'a> {
    U8(ArrayView4<'a, u8>),
    U16(ArrayView4<'a, u16>),
    I16(ArrayView4<'a, i16>),
    F32(ArrayView4<'a, f32>),
}

impl Views<'_> {
    fn source(&self) -> PyResult<Source<'_>> {
        Ok(match self {
            Self::U8(v) => Source::U8(strided(v)?),
            Self::U16(v) => Source::U16(strided(v)?),
            Self::I16(v) => Source::I16(strided(v)?),
            Self::F32(v) => Source::F32(strided(v)?),
        })
    }
}

/// Python form of [`Params`]: (starts, lengths, flip, window, divisor, mean, std).
type PyParams = (
    [f64; 3],
    [f64; 3],
    [bool; 3],
    Option<(f64, f64)>,
    f64,
    Vec<f64>,
    Vec<f64>,
);

fn params((starts, lengths, flip, window, divisor, mean, std): PyParams) -> Params {
    Params {
        starts,
        lengths,
        flip,
        window,
        divisor,
        mean,
        std,
    }
}

fn out_shape(out: &PyReadwriteArray4<'_, f32>) -> [usize; 4] {
    let s = out.shape();
    [s[0], s[1], s[2], s[3]]
}

/// Preprocess one `[D, H, W, C]` source into a C-contiguous `[C, OD, OH, OW]` float32 `out`.
#[pyfunction]
fn preprocess_into(
    py: Python<'_>,
    src: &Bound<'_, PyAny>,
    mut out: PyReadwriteArray4<'_, f32>,
    params_: PyParams,
) -> PyResult<()> {
    let borrowed = Borrowed::new(src)?;
    let views = borrowed.views(true)?;
    let source = views.source()?;
    let shape = out_shape(&out);
    let dst = out.as_slice_mut()?;
    let params = params(params_);
    py.detach(|| source.preprocess_into(dst, shape, &params))
        .map_err(PyValueError::new_err)
}

/// Preprocess many sources into `out` `[N, C, OD, OH, OW]` (given as `[N * C, OD, OH, OW]`),
/// in parallel over images on the kernel pool.
#[pyfunction]
fn preprocess_batch_into(
    py: Python<'_>,
    srcs: Vec<Bound<'_, PyAny>>,
    mut out: PyReadwriteArray4<'_, f32>,
    params_: Vec<PyParams>,
) -> PyResult<()> {
    if srcs.len() != params_.len() || srcs.is_empty() {
        return Err(PyValueError::new_err("need one parameter tuple per source"));
    }
    let borrowed = srcs.iter().map(Borrowed::new).collect::<PyResult<Vec<_>>>()?;
    let views = borrowed
        .iter()
        .map(|b| b.views(true))
        .collect::<PyResult<Vec<_>>>()?;
    let items = views
        .iter()
        .zip(params_)
        .map(|(v, p)| Ok((v.source()?, params(p))))
        .collect::<PyResult<Vec<_>>>()?;
    let [rows, od, oh, ow] = out_shape(&out);
    if rows % items.len() != 0 {
        return Err(PyValueError::new_err(
            "out rows must be a multiple of the number of sources",
        ));
    }
    let item_shape = [rows / items.len(), od, oh, ow];
    let dst = out.as_slice_mut()?;
    py.detach(|| pool::install(|| preprocess::preprocess_batch(&items, dst, item_shape)))
        .map_err(PyValueError::new_err)
}

/// Rotate a float32 `[C, H, W]` source (any strides) into a C-contiguous `out` of the same shape.
#[pyfunction]
fn rotate_into(
    py: Python<'_>,
    src: PyReadonlyArray4<'_, f32>,
    mut out: PyReadwriteArray4<'_, f32>,
    degrees: f64,
    fill: f64,
) -> PyResult<()> {
    let view = src.as_array();
    let source = strided(&view)?;
    let dst = out.as_slice_mut()?;
    py.detach(|| rotate::rotate_into(&source, dst, degrees, fill))
        .map_err(PyValueError::new_err)
}

/// In place `x = x * scale + shift` on a float32 array of any shape and strides.
#[pyfunction]
fn intensity_jitter(
    py: Python<'_>,
    mut x: PyReadwriteArrayDyn<'_, f32>,
    scale: f64,
    shift: f64,
) -> PyResult<()> {
    if let Ok(values) = x.as_slice_mut() {
        py.detach(|| jitter::intensity_jitter(values, scale, shift));
    } else {
        let mut view = x.as_array_mut();
        py.detach(|| view.mapv_inplace(|v| jitter::jitter_one(v, scale, shift)));
    }
    Ok(())
}

/// Decode the PNG at `path` to a uint8/uint16 `[H, W]` or `[H, W, 3]` array, or `None` when
/// it is missing, corrupt or of a kind left to Pillow (see `decode`).
#[pyfunction]
fn decode_png(py: Python<'_>, path: PathBuf) -> PyResult<Option<Bound<'_, PyUntypedArray>>> {
    let decoded = py.detach(|| catch_unwind(|| read_png(&path)).ok().and_then(Result::ok));
    let Some(image) = decoded else {
        return Ok(None);
    };
    let [h, w, c] = image.shape;
    let shape: Vec<usize> = if c == 1 { vec![h, w] } else { vec![h, w, c] };
    let array = match image.pixels {
        Pixels::U8(data) => PyArray1::from_vec(py, data).reshape(shape)?.into_any(),
        Pixels::U16(data) => PyArray1::from_vec(py, data).reshape(shape)?.into_any(),
    };
    Ok(Some(array.cast_into::<PyUntypedArray>()?))
}

/// The array shape (`[H, W]` or `[H, W, 3]`) of each PNG of `paths`, decoded in parallel on the
/// pool with the GIL released; `None` where it is missing, corrupt or of a kind left to Pillow.
#[pyfunction]
fn probe_pngs(py: Python<'_>, paths: Vec<PathBuf>) -> Vec<Option<Vec<usize>>> {
    let shapes = py.detach(|| pool::install(|| probe(&paths)));
    shapes
        .into_iter()
        .map(|shape| shape.map(|[h, w, c]| if c == 1 { vec![h, w] } else { vec![h, w, c] }))
        .collect()
}

/// A PNG path (`str`) or a borrowed array, as given for a view's image or mask.
enum PyInput<'py> {
    Path(PathBuf),
    Array(Borrowed<'py>),
}

impl<'py> PyInput<'py> {
    fn new(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        if obj.is_instance_of::<PyString>() {
            Ok(Self::Path(obj.extract()?))
        } else {
            Borrowed::new(obj).map(Self::Array)
        }
    }
}

/// The fields of one `medfusion_core.viewops.ViewJob`, read with the GIL held.
struct PyJob<'py> {
    image: PyInput<'py>,
    mask: Option<PyInput<'py>>,
    slot: usize,
    crop: Option<[f64; 3]>,
    flip: [bool; 3],
    window: Option<(f64, f64)>,
    degrees: f64,
    scale: f64,
    shift: f64,
}

impl<'py> PyJob<'py> {
    fn new(job: &Bound<'py, PyAny>) -> PyResult<Self> {
        let py = job.py();
        let mask = job.getattr(intern!(py, "mask"))?;
        let flip: Vec<bool> = job.getattr(intern!(py, "flip"))?.extract()?;
        if flip.is_empty() || flip.len() > 3 {
            return Err(PyValueError::new_err("flip needs 1 to 3 booleans"));
        }
        let mut flips = [false; 3];
        flips[3 - flip.len()..].copy_from_slice(&flip);
        Ok(Self {
            image: PyInput::new(&job.getattr(intern!(py, "image"))?)?,
            mask: if mask.is_none() {
                None
            } else {
                Some(PyInput::new(&mask)?)
            },
            slot: job.getattr(intern!(py, "slot"))?.extract()?,
            crop: job.getattr(intern!(py, "crop"))?.extract()?,
            flip: flips,
            window: job.getattr(intern!(py, "window"))?.extract()?,
            degrees: job.getattr(intern!(py, "degrees"))?.extract()?,
            scale: job.getattr(intern!(py, "scale"))?.extract()?,
            shift: job.getattr(intern!(py, "shift"))?.extract()?,
        })
    }
}

/// Views of a [`PyInput`] (arrays reshaped to `[D, H, W, C]`).
enum InputViews<'a> {
    Path(&'a PathBuf),
    Array(Views<'a>),
}

impl<'a> InputViews<'a> {
    fn new(input: &'a PyInput<'_>, volume: bool) -> PyResult<Self> {
        Ok(match input {
            PyInput::Path(path) => Self::Path(path),
            PyInput::Array(array) => Self::Array(array.views(volume)?),
        })
    }

    fn input(&self) -> PyResult<Input<'_>> {
        Ok(match self {
            Self::Path(path) => Input::Path((*path).clone()),
            Self::Array(views) => Input::Array(views.source()?),
        })
    }
}

/// A C-contiguous float32 `[S, C, H, W]` (`[S, C, D, H, W]`) output: its values and view shape.
fn slots<'a>(out: &'a mut PyReadwriteArrayDyn<'_, f32>) -> PyResult<(&'a mut [f32], [usize; 4])> {
    let shape = match *out.shape() {
        [_, c, h, w] => [c, 1, h, w],
        [_, c, d, h, w] => [c, d, h, w],
        _ => {
            return Err(PyValueError::new_err(
                "outputs must be [S, C, H, W] or [S, C, D, H, W]",
            ))
        }
    };
    Ok((out.as_slice_mut()?, shape))
}

/// Fill batch slots from `jobs` (see `views`), in parallel over views with the GIL released.
/// Returns `(job index, reason)` of each view that could not be filled.
#[pyfunction]
fn fill_views(
    py: Python<'_>,
    jobs: Vec<Bound<'_, PyAny>>,
    mut images: PyReadwriteArrayDyn<'_, f32>,
    mut masks: Option<PyReadwriteArrayDyn<'_, f32>>,
    mean: Vec<f64>,
    std: Vec<f64>,
) -> PyResult<Vec<(usize, String)>> {
    let volume = images.ndim() == 5;
    let raw = jobs.iter().map(PyJob::new).collect::<PyResult<Vec<_>>>()?;
    let inputs = raw
        .iter()
        .map(|job| {
            let mask = job
                .mask
                .as_ref()
                .map(|m| InputViews::new(m, volume))
                .transpose()?;
            Ok((InputViews::new(&job.image, volume)?, mask))
        })
        .collect::<PyResult<Vec<_>>>()?;
    let jobs = raw
        .iter()
        .zip(&inputs)
        .map(|(job, (image, mask))| {
            Ok(ViewJob {
                image: image.input()?,
                mask: mask.as_ref().map(InputViews::input).transpose()?,
                slot: job.slot,
                crop: job.crop,
                flip: job.flip,
                window: job.window,
                degrees: job.degrees,
                scale: job.scale,
                shift: job.shift,
            })
        })
        .collect::<PyResult<Vec<_>>>()?;
    let (images, view_shape) = slots(&mut images)?;
    let masks = match masks.as_mut() {
        Some(m) => Some(slots(m)?.0),
        None => None,
    };
    let outputs = Outputs {
        images,
        masks,
        view_shape,
    };
    let norm = Norm { mean, std };
    py.detach(|| pool::install(|| views::fill_views(&jobs, outputs, &norm)))
        .map_err(PyValueError::new_err)
}

/// Number of threads of this process's kernel pool.
#[pyfunction]
fn threads() -> usize {
    pool::threads()
}

/// Set the pool's thread count (`None`: `MEDFUSION_NATIVE_THREADS` or the available cores).
#[pyfunction]
#[pyo3(signature = (threads=None))]
fn set_threads(threads: Option<usize>) {
    pool::set_threads(threads);
}

/// Version of the native crate.
#[pyfunction]
fn version() -> &'static str {
    crate::VERSION
}

/// The private extension module `medfusion_plugin_native._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(bootstrap_auc, m)?)?;
    m.add_function(wrap_pyfunction!(preprocess_into, m)?)?;
    m.add_function(wrap_pyfunction!(preprocess_batch_into, m)?)?;
    m.add_function(wrap_pyfunction!(rotate_into, m)?)?;
    m.add_function(wrap_pyfunction!(intensity_jitter, m)?)?;
    m.add_function(wrap_pyfunction!(decode_png, m)?)?;
    m.add_function(wrap_pyfunction!(probe_pngs, m)?)?;
    m.add_function(wrap_pyfunction!(fill_views, m)?)?;
    m.add_function(wrap_pyfunction!(threads, m)?)?;
    m.add_function(wrap_pyfunction!(set_threads, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    Ok(())
}
