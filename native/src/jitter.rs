//! In-place intensity jitter (`imageops.intensity_jitter`): `x = x * scale + shift` in f64.

/// Apply `x = x * scale + shift` to every value, computed in f64 and rounded to f32 once.
pub fn intensity_jitter(values: &mut [f32], scale: f64, shift: f64) {
    for v in values {
        *v = jitter_one(*v, scale, shift);
    }
}

/// One value of [`intensity_jitter`].
#[inline(always)]
pub fn jitter_one(v: f32, scale: f64, shift: f64) -> f32 {
    (f64::from(v) * scale + shift) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_once_from_f64() {
        let mut x = [1.0f32, 0.1, -3.5];
        intensity_jitter(&mut x, 1.1, 0.2);
        assert_eq!(x[0], (1.1f64 + 0.2) as f32);
        assert_eq!(x[1], (f64::from(0.1f32) * 1.1 + 0.2) as f32);
        assert_eq!(x[2], (-3.5f64 * 1.1 + 0.2) as f32);
    }
}
