//! Read-only strided 4D views over a slice: the `[D, H, W, C]` layout every image kernel reads.
//!
//! Numpy arrays reach the kernels with arbitrary (even negative) strides; a [`Strided4`] keeps
//! the memory as a bounds-checked slice plus the offset of element `(0, 0, 0, 0)`.

use crate::taps::Taps;

/// A source element type and its value as f64.
pub trait Sample: Copy + Send + Sync {
    /// Whether resampling this type in f32 stays within the kernels' 1e-5 tolerance of the f64
    /// reference when values are only scaled by the type's maximum (no window): true for the
    /// unsigned types, whose scaled values lie in [0, 1].
    const F32_EXACT: bool;

    /// The value converted exactly to f64.
    fn to_f64(self) -> f64;

    /// The value converted to f32 (exact for the integer types).
    fn to_f32(self) -> f32;

    /// Eight consecutive values from `p` as f32 lanes.
    ///
    /// # Safety
    /// `p` must point to eight readable values and the CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    unsafe fn load8(p: *const Self) -> std::arch::x86_64::__m256;
}

macro_rules! sample {
    ($($t:ty => $exact:expr, |$p:ident| $load:expr);*) => {$(
        impl Sample for $t {
            const F32_EXACT: bool = $exact;

            #[inline(always)]
            fn to_f64(self) -> f64 {
                f64::from(self)
            }

            #[inline(always)]
            fn to_f32(self) -> f32 {
                f32::from(self)
            }

            #[cfg(target_arch = "x86_64")]
            #[inline]
            #[target_feature(enable = "avx2")]
            unsafe fn load8($p: *const Self) -> std::arch::x86_64::__m256 {
                use std::arch::x86_64::*;
                $load
            }
        }
    )*};
}
sample!(
    u8 => true, |p| _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(p.cast())));
    u16 => true, |p| _mm256_cvtepi32_ps(_mm256_cvtepu16_epi32(_mm_loadu_si128(p.cast())));
    i16 => false, |p| _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm_loadu_si128(p.cast())));
    f32 => false, |p| _mm256_loadu_ps(p)
);

/// Floating-point type the resampling passes accumulate in (f64, or f32 where exact enough).
pub trait Acc:
    Copy
    + Default
    + Send
    + Sync
    + std::ops::Mul<Output = Self>
    + std::ops::Add<Output = Self>
    + std::ops::AddAssign
    + 'static
{
    /// A source value in this precision.
    fn of<T: Sample>(value: T) -> Self;

    /// A weight (computed in f64) in this precision.
    fn weight(w: f64) -> Self;

    /// The value as f64.
    fn wide(self) -> f64;

    /// The value rounded to f32.
    fn narrow(self) -> f32;

    /// `values` as f32 when `Self` is f32 (lets generic code pick an f32-only fast path).
    fn as_f32_mut(values: &mut [Self]) -> Option<&mut [f32]>;

    /// `taps` as f32 taps when `Self` is f32.
    fn as_f32_taps(taps: &Taps<Self>) -> Option<&Taps<f32>>;
}

impl Acc for f64 {
    #[inline(always)]
    fn of<T: Sample>(value: T) -> Self {
        value.to_f64()
    }

    #[inline(always)]
    fn weight(w: f64) -> Self {
        w
    }

    #[inline(always)]
    fn wide(self) -> f64 {
        self
    }

    #[inline(always)]
    fn narrow(self) -> f32 {
        self as f32
    }

    fn as_f32_mut(_: &mut [Self]) -> Option<&mut [f32]> {
        None
    }

    fn as_f32_taps(_: &Taps<Self>) -> Option<&Taps<f32>> {
        None
    }
}

impl Acc for f32 {
    #[inline(always)]
    fn of<T: Sample>(value: T) -> Self {
        value.to_f32()
    }

    #[inline(always)]
    fn weight(w: f64) -> Self {
        w as f32
    }

    #[inline(always)]
    fn wide(self) -> f64 {
        f64::from(self)
    }

    #[inline(always)]
    fn narrow(self) -> f32 {
        self
    }

    fn as_f32_mut(values: &mut [Self]) -> Option<&mut [f32]> {
        Some(values)
    }

    fn as_f32_taps(taps: &Taps<Self>) -> Option<&Taps<f32>> {
        Some(taps)
    }
}

/// Why a strided view could not be built.
#[derive(Debug, PartialEq, Eq)]
pub struct OutOfBounds;

/// A 4D view `[D, H, W, C]` with element strides (in elements, may be negative).
#[derive(Clone, Copy, Debug)]
pub struct Strided4<'a, T> {
    data: &'a [T],
    origin: isize,
    /// Extent of each axis.
    pub shape: [usize; 4],
    /// Step in elements between neighbours along each axis.
    pub strides: [isize; 4],
}

impl<'a, T: Sample> Strided4<'a, T> {
    /// View `data`, where element `(0, 0, 0, 0)` is `data[origin]`; every element must be in `data`.
    pub fn new(
        data: &'a [T],
        origin: usize,
        shape: [usize; 4],
        strides: [isize; 4],
    ) -> Result<Self, OutOfBounds> {
        if !shape.contains(&0) {
            let (mut low, mut high) = (origin as isize, origin as isize);
            for axis in 0..4 {
                let reach = (shape[axis] as isize - 1) * strides[axis];
                if reach < 0 {
                    low += reach;
                } else {
                    high += reach;
                }
            }
            if low < 0 || high as usize >= data.len() {
                return Err(OutOfBounds);
            }
        }
        Ok(Self {
            data,
            origin: origin as isize,
            shape,
            strides,
        })
    }

    /// A C-contiguous `[D, H, W, C]` view of `data`.
    pub fn contiguous(data: &'a [T], shape: [usize; 4]) -> Result<Self, OutOfBounds> {
        let strides = [
            (shape[1] * shape[2] * shape[3]) as isize,
            (shape[2] * shape[3]) as isize,
            shape[3] as isize,
            1,
        ];
        if data.len() != shape.iter().product::<usize>() {
            return Err(OutOfBounds);
        }
        Self::new(data, 0, shape, strides)
    }

    /// Offset of element `(z, y, 0, c)`, the start of one row of one channel.
    #[inline(always)]
    pub fn row_offset(&self, z: usize, y: usize, c: usize) -> isize {
        self.origin
            + z as isize * self.strides[0]
            + y as isize * self.strides[1]
            + c as isize * self.strides[3]
    }

    /// Element at `offset + x * stride_x`.
    #[inline(always)]
    pub fn at(&self, offset: isize, x: usize) -> T {
        self.data[(offset + x as isize * self.strides[2]) as usize]
    }

    /// Row `(z, y)` of every channel as one contiguous interleaved slice (`W * C` values),
    /// when pixels are packed (`C` stride 1, `W` stride `C`).
    #[inline(always)]
    pub fn pixel_row(&self, z: usize, y: usize) -> Option<&'a [T]> {
        let channels = self.shape[3];
        if self.strides[3] != 1 && channels > 1 || self.strides[2] != channels as isize {
            return None;
        }
        let start = self.row_offset(z, y, 0) as usize;
        Some(&self.data[start..start + self.shape[2] * channels])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_strides_address_the_same_elements() {
        let data: Vec<u8> = (0..24).collect();
        // [1, 4, 6, 1] flipped along W: element (0, y, x, 0) = y * 6 + 5 - x
        let view = Strided4::new(&data, 5, [1, 4, 6, 1], [24, 6, -1, 1]).unwrap();
        let row = view.row_offset(0, 2, 0);
        assert_eq!(view.at(row, 0), 17);
        assert_eq!(view.at(row, 5), 12);
        assert!(view.pixel_row(0, 2).is_none());
        let packed = Strided4::contiguous(&data, [1, 2, 4, 3]).unwrap();
        assert_eq!(packed.pixel_row(0, 1).unwrap(), &data[12..24]);
    }

    #[test]
    fn out_of_bounds_views_are_refused() {
        let data = [0u16; 10];
        assert_eq!(
            Strided4::new(&data, 0, [1, 1, 11, 1], [0, 0, 1, 0]).err(),
            Some(OutOfBounds)
        );
        assert_eq!(
            Strided4::new(&data, 0, [1, 1, 2, 1], [0, 0, -1, 0]).err(),
            Some(OutOfBounds)
        );
        assert!(Strided4::contiguous(&data, [1, 2, 5, 1]).is_ok());
    }
}
