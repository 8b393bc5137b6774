//! Rust kernels of the MedFusion native accelerator plugin.
//!
//! Every module apart from `py` is plain Rust on slices and strided views, tested with
//! `cargo test`; `py` (feature `python`) is the thin PyO3 layer that converts numpy arrays and
//! releases the GIL around each kernel.

pub mod bootstrap;
pub mod decode;
pub mod jitter;
pub mod pool;
pub mod preprocess;
pub mod rng;
pub mod rotate;
#[cfg(target_arch = "x86_64")]
pub mod simd;
pub mod strided;
pub mod taps;
pub mod views;

#[cfg(feature = "python")]
mod py;

/// Version of the native crate (reported by `medfusion doctor`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
