//! Bilinear rotation of a `[C, H, W]` f32 image about its centre (`imageops.rotate_into`).

use crate::strided::Strided4;

/// Rotate `src` (viewed as `[C, H, W, 1]`) counter-clockwise by `degrees` into `out`
/// (C-contiguous `[C, H, W]`); taps outside the image read `fill`.
pub fn rotate_into(src: &Strided4<f32>, out: &mut [f32], degrees: f64, fill: f64) -> Result<(), String> {
    let [channels, height, width, _] = src.shape;
    if out.len() != channels * height * width {
        return Err(format!(
            "out has {} values, expected {channels}x{height}x{width}",
            out.len()
        ));
    }
    let theta = degrees.to_radians();
    let (sin_t, cos_t) = (theta.sin(), theta.cos());
    let (cy, cx) = ((height as f64 - 1.0) / 2.0, (width as f64 - 1.0) / 2.0);
    let tap = |offset: isize, yy: i64, xx: i64| -> f64 {
        if yy >= 0 && xx >= 0 && (yy as usize) < height && (xx as usize) < width {
            f64::from(src.at(offset + yy as isize * src.strides[1], xx as usize))
        } else {
            fill
        }
    };
    // Taps whose 2x2 neighbourhood lies inside the image read packed rows directly (the same
    // arithmetic as `tap`, without its bounds checks and strided addressing).
    let (inner_h, inner_w) = (height as i64 - 1, width as i64 - 1);
    for c in 0..channels {
        let base = src.row_offset(c, 0, 0);
        let rows: Option<Vec<&[f32]>> = (0..height).map(|y| src.pixel_row(c, y)).collect();
        let plane = &mut out[c * height * width..(c + 1) * height * width];
        for (y, line) in plane.chunks_exact_mut(width.max(1)).enumerate() {
            let dy = y as f64 - cy;
            for (x, o) in line.iter_mut().enumerate() {
                let dx = x as f64 - cx;
                let sx = cx + cos_t * dx - sin_t * dy;
                let sy = cy + sin_t * dx + cos_t * dy;
                let (x0, y0) = (floor(sx), floor(sy));
                let (fx, fy) = (sx - x0 as f64, sy - y0 as f64);
                let (top, bottom) = match &rows {
                    Some(rows) if x0 >= 0 && y0 >= 0 && x0 < inner_w && y0 < inner_h => {
                        let (x0, y0) = (x0 as usize, y0 as usize);
                        let (r0, r1) = (&rows[y0][x0..x0 + 2], &rows[y0 + 1][x0..x0 + 2]);
                        (
                            (1.0 - fx) * f64::from(r0[0]) + fx * f64::from(r0[1]),
                            (1.0 - fx) * f64::from(r1[0]) + fx * f64::from(r1[1]),
                        )
                    }
                    _ => (
                        (1.0 - fx) * tap(base, y0, x0) + fx * tap(base, y0, x0 + 1),
                        (1.0 - fx) * tap(base, y0 + 1, x0) + fx * tap(base, y0 + 1, x0 + 1),
                    ),
                };
                *o = ((1.0 - fy) * top + fy * bottom) as f32;
            }
        }
    }
    Ok(())
}

/// `v.floor()` as an integer, without a libm call (exact for |v| < 2^53; saturates beyond i64).
#[inline(always)]
fn floor(v: f64) -> i64 {
    let t = v as i64;
    if (t as f64) > v {
        t - 1
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_floor_matches_f64_floor() {
        for v in [
            -2.5,
            -2.0,
            -1e-300,
            -0.0,
            0.0,
            0.3,
            1.0,
            7.999_999_999,
            -7.000_000_001,
            1e15 + 0.5,
        ] {
            assert_eq!(floor(v), v.floor() as i64, "{v}");
        }
    }

    #[test]
    fn zero_degrees_copies_and_half_turn_reverses() {
        let data: Vec<f32> = (0..2 * 3 * 4).map(|v| v as f32 * 0.5).collect();
        let src = Strided4::contiguous(&data, [2, 3, 4, 1]).unwrap();
        let mut out = vec![0.0f32; data.len()];
        rotate_into(&src, &mut out, 0.0, -1.0).unwrap();
        assert_eq!(out, data);
        rotate_into(&src, &mut out, 180.0, -1.0).unwrap();
        for c in 0..2 {
            for i in 0..12 {
                assert!((out[c * 12 + i] - data[c * 12 + 11 - i]).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn packed_and_strided_sources_rotate_identically() {
        // the packed fast path and the strided taps must agree bit for bit
        let (h, w) = (7, 9);
        let data: Vec<f32> = (0..h * w).map(|v| ((v * 37) % 23) as f32 * 0.25 - 1.0).collect();
        let packed = Strided4::contiguous(&data, [1, h, w, 1]).unwrap();
        let mut wide = vec![0.0f32; h * w * 2];
        for (i, v) in data.iter().enumerate() {
            wide[2 * i] = *v;
        }
        let strided = Strided4::new(&wide, 0, [1, h, w, 1], [0, 2 * w as isize, 2, 1]).unwrap();
        for degrees in [3.0, -17.5, 45.0, 90.0, 200.0] {
            let (mut a, mut b) = (vec![0.0f32; h * w], vec![0.0f32; h * w]);
            rotate_into(&packed, &mut a, degrees, 0.5).unwrap();
            rotate_into(&strided, &mut b, degrees, 0.5).unwrap();
            assert_eq!(a, b, "{degrees}");
        }
    }

    #[test]
    fn quarter_turn_moves_the_top_right_corner_to_the_top_left() {
        // counter-clockwise as displayed: the right edge becomes the top edge
        let mut data = vec![0.0f32; 5 * 5];
        data[4] = 1.0; // (y=0, x=4)
        let src = Strided4::contiguous(&data, [1, 5, 5, 1]).unwrap();
        let mut out = vec![0.0f32; 25];
        rotate_into(&src, &mut out, 90.0, 0.0).unwrap();
        let hot: Vec<usize> = (0..25).filter(|&i| out[i] > 0.5).collect();
        assert_eq!(hot, vec![0]);
    }
}
