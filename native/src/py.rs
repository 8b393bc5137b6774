//! The PyO3 layer: numpy arrays in, kernels run with the GIL released, numpy arrays out.
//!
//! The Python wrappers in `medfusion_plugin_native.kernels` validate user input, reshape
//! sources to `[D, H, W, C]` and raise MedFusion errors; the checks here only guard memory
//! safety and raise `ValueError`.

use numpy::ndarray::ArrayView4;
use numpy::{
    Element, PyArray1, PyReadonlyArray1, PyReadonlyArray4, PyReadwriteArray4, PyReadwriteArrayDyn,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::preprocess::{Params, Source};
use crate::strided::{Sample, Strided4};
use crate::{bootstrap, jitter, pool, preprocess, rotate};

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
            let prepared = bootstrap::Prepared::new(y, s)?;
            let (mut auroc, mut auprc) = (vec![f64::NAN; n_resamples], vec![f64::NAN; n_resamples]);
            pool::install(|| bootstrap::bootstrap_auc(&prepared, seed, &mut auroc, &mut auprc));
            Ok::<_, bootstrap::BootstrapError>((auroc, auprc))
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
    U8(PyReadonlyArray4<'py, u8>),
    U16(PyReadonlyArray4<'py, u16>),
    I16(PyReadonlyArray4<'py, i16>),
    F32(PyReadonlyArray4<'py, f32>),
}

impl<'py> Borrowed<'py> {
    fn new(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        fn try_as<'py, T: Element>(obj: &Bound<'py, PyAny>) -> Option<PyReadonlyArray4<'py, T>> {
            obj.extract::<PyReadonlyArray4<'py, T>>().ok()
        }
        try_as::<u8>(obj)
            .map(Self::U8)
            .or_else(|| try_as::<u16>(obj).map(Self::U16))
            .or_else(|| try_as::<i16>(obj).map(Self::I16))
            .or_else(|| try_as::<f32>(obj).map(Self::F32))
            .ok_or_else(|| PyTypeError::new_err("source must be a 4D uint8, uint16, int16 or float32 array"))
    }

    fn views(&self) -> Views<'_> {
        match self {
            Self::U8(a) => Views::U8(a.as_array()),
            Self::U16(a) => Views::U16(a.as_array()),
            Self::I16(a) => Views::I16(a.as_array()),
            Self::F32(a) => Views::F32(a.as_array()),
        }
    }
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
    let views = borrowed.views();
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
    let views: Vec<Views<'_>> = borrowed.iter().map(Borrowed::views).collect();
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
    m.add_function(wrap_pyfunction!(threads, m)?)?;
    m.add_function(wrap_pyfunction!(set_threads, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    Ok(())
}
