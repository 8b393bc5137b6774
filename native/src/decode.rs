//! PNG decoding to the arrays `medfusion_core.data.readers.decode_pillow` returns.
//!
//! Supported (everything else is [`DecodeError::Unsupported`] and the caller falls back to
//! Pillow): 8-bit grey -> u8 `[H, W, 1]`, 16-bit grey -> u16 `[H, W, 1]`, 8-bit grey + alpha ->
//! u8 `[H, W, 1]` (alpha dropped), 8-bit RGB -> u8 `[H, W, 3]`, 8-bit RGBA -> u8 `[H, W, 3]`
//! (alpha dropped, not premultiplied), which is what Pillow's `convert("L")`/`convert("RGB")`
//! give. Interlaced files are de-interlaced; gamma, colour profiles and `tRNS` are ignored, as
//! Pillow ignores them for these modes.

use std::fmt;
use std::io::Cursor;
use std::panic::catch_unwind;
use std::path::{Path, PathBuf};

use png::{BitDepth, ColorType, Decoder, Transformations};
use rayon::prelude::*;

use crate::preprocess::Source;
use crate::strided::Strided4;

/// Decoded samples, `[H, W, C]` row-major.
#[derive(Clone, Debug, PartialEq)]
pub enum Pixels {
    /// 8-bit samples.
    U8(Vec<u8>),
    /// 16-bit samples (native endianness).
    U16(Vec<u16>),
}

/// A decoded 2D image.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    /// The samples.
    pub pixels: Pixels,
    /// `[H, W, C]`.
    pub shape: [usize; 3],
}

impl Image {
    /// The image as a `[1, H, W, C]` preprocessing source.
    pub fn source(&self) -> Source<'_> {
        let [h, w, c] = self.shape;
        let shape = [1, h, w, c];
        // `decode_png` builds `pixels` with exactly `H * W * C` samples.
        let invariant = "decoded pixels match their shape";
        match &self.pixels {
            Pixels::U8(data) => Source::U8(Strided4::contiguous(data, shape).expect(invariant)),
            Pixels::U16(data) => Source::U16(Strided4::contiguous(data, shape).expect(invariant)),
        }
    }
}

/// Why a file was not decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// A valid PNG of a colour type or bit depth this decoder leaves to Pillow.
    Unsupported(String),
    /// Not readable as a PNG (missing, truncated, corrupt).
    Invalid(String),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unsupported(why) => write!(f, "unsupported PNG: {why}"),
            Self::Invalid(why) => write!(f, "invalid PNG: {why}"),
        }
    }
}

/// Read and decode the PNG file at `path`.
pub fn read_png(path: &Path) -> Result<Image, DecodeError> {
    let bytes = std::fs::read(path).map_err(|e| DecodeError::Invalid(format!("{}: {e}", path.display())))?;
    decode_png(&bytes)
}

/// The `[H, W, C]` shape of every PNG of `paths`, each decoded in full (so that a truncated
/// file is found), in parallel over files on the current rayon pool; `None` where a file is
/// missing, corrupt or of a kind left to Pillow (a panic counts as not decoded).
pub fn probe_pngs(paths: &[PathBuf]) -> Vec<Option<[usize; 3]>> {
    paths
        .par_iter()
        .map(|path| {
            catch_unwind(|| read_png(path))
                .ok()
                .and_then(Result::ok)
                .map(|image| image.shape)
        })
        .collect()
}

/// Decode PNG `bytes`.
pub fn decode_png(bytes: &[u8]) -> Result<Image, DecodeError> {
    let invalid = |e: png::DecodingError| DecodeError::Invalid(e.to_string());
    let mut decoder = Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(Transformations::IDENTITY);
    let mut reader = decoder.read_info().map_err(invalid)?;
    let (color, depth) = {
        let info = reader.info();
        (info.color_type, info.bit_depth)
    };
    let keep = match (color, depth) {
        (ColorType::Grayscale, BitDepth::Eight | BitDepth::Sixteen) => (1, 1),
        (ColorType::GrayscaleAlpha, BitDepth::Eight) => (2, 1),
        (ColorType::Rgb, BitDepth::Eight) => (3, 3),
        (ColorType::Rgba, BitDepth::Eight) => (4, 3),
        _ => return Err(DecodeError::Unsupported(format!("{color:?} at {depth:?} bits"))),
    };
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| DecodeError::Invalid("image too large".to_string()))?;
    let mut buffer = vec![0u8; size];
    let frame = reader.next_frame(&mut buffer).map_err(invalid)?;
    let (height, width) = (frame.height as usize, frame.width as usize);
    let (stored, channels) = keep;
    let shape = [height, width, channels];
    let pixels = if depth == BitDepth::Sixteen {
        let rows = buffer.chunks_exact(frame.line_size).take(height);
        Pixels::U16(
            rows.flat_map(|row| {
                row[..width * 2]
                    .chunks_exact(2)
                    .map(|b| u16::from_be_bytes([b[0], b[1]]))
            })
            .collect(),
        )
    } else {
        let mut data = Vec::with_capacity(height * width * channels);
        for row in buffer.chunks_exact(frame.line_size).take(height) {
            for pixel in row[..width * stored].chunks_exact(stored) {
                data.extend_from_slice(&pixel[..channels]);
            }
        }
        Pixels::U8(data)
    };
    Ok(Image { pixels, shape })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encode `data` (`[H, W, samples]` rows) as a PNG.
    fn encode(width: u32, height: u32, color: ColorType, depth: BitDepth, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, width, height);
            encoder.set_color(color);
            encoder.set_depth(depth);
            let mut writer = encoder.write_header().unwrap();
            writer.write_image_data(data).unwrap();
        }
        out
    }

    #[test]
    fn probe_gives_shapes_and_none_for_what_it_cannot_decode() {
        let folder = std::env::temp_dir().join(format!("medfusion-probe-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap();
        let grey = encode(4, 3, ColorType::Grayscale, BitDepth::Eight, &[7u8; 12]);
        let rgb = encode(2, 5, ColorType::Rgb, BitDepth::Eight, &[9u8; 30]);
        let files = [
            ("grey.png", grey.clone()),
            ("rgb.png", rgb),
            ("cut.png", grey[..grey.len() - 20].to_vec()),
        ];
        let mut paths: Vec<PathBuf> = files
            .iter()
            .map(|(name, bytes)| {
                let path = folder.join(name);
                std::fs::write(&path, bytes).unwrap();
                path
            })
            .collect();
        paths.push(folder.join("missing.png"));
        let shapes = crate::pool::install(|| probe_pngs(&paths));
        assert_eq!(shapes, vec![Some([3, 4, 1]), Some([5, 2, 3]), None, None]);
        std::fs::remove_dir_all(&folder).unwrap();
    }

    #[test]
    fn grey_rgb_and_alpha_layouts() {
        let grey: Vec<u8> = (0..12).collect();
        let image = decode_png(&encode(4, 3, ColorType::Grayscale, BitDepth::Eight, &grey)).unwrap();
        assert_eq!(image.shape, [3, 4, 1]);
        assert_eq!(image.pixels, Pixels::U8(grey.clone()));

        let la: Vec<u8> = grey.iter().flat_map(|&v| [v, 200]).collect();
        let image = decode_png(&encode(4, 3, ColorType::GrayscaleAlpha, BitDepth::Eight, &la)).unwrap();
        assert_eq!(image.pixels, Pixels::U8(grey.clone()));

        let rgba: Vec<u8> = (0..2 * 2 * 4).map(|v| v as u8 * 7).collect();
        let image = decode_png(&encode(2, 2, ColorType::Rgba, BitDepth::Eight, &rgba)).unwrap();
        assert_eq!(image.shape, [2, 2, 3]);
        let rgb: Vec<u8> = rgba.chunks(4).flat_map(|p| p[..3].to_vec()).collect();
        assert_eq!(image.pixels, Pixels::U8(rgb.clone()));
        let image = decode_png(&encode(2, 2, ColorType::Rgb, BitDepth::Eight, &rgb)).unwrap();
        assert_eq!(image.pixels, Pixels::U8(rgb));
    }

    #[test]
    fn sixteen_bit_grey_is_big_endian_in_the_file() {
        let values = [0u16, 1, 256, 65535, 4097, 300];
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
        let image = decode_png(&encode(3, 2, ColorType::Grayscale, BitDepth::Sixteen, &bytes)).unwrap();
        assert_eq!(image.shape, [2, 3, 1]);
        assert_eq!(image.pixels, Pixels::U16(values.to_vec()));
        assert!(matches!(image.source(), Source::U16(s) if s.shape == [1, 2, 3, 1]));
    }

    #[test]
    fn palette_and_low_bit_depths_are_left_to_pillow() {
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, 2, 1);
            encoder.set_color(ColorType::Indexed);
            encoder.set_palette(vec![0u8, 0, 0, 255, 255, 255]);
            let mut writer = encoder.write_header().unwrap();
            writer.write_image_data(&[0, 1]).unwrap();
        }
        assert!(matches!(decode_png(&out), Err(DecodeError::Unsupported(_))));
        let one_bit = encode(8, 1, ColorType::Grayscale, BitDepth::One, &[0b1010_0000]);
        assert!(matches!(decode_png(&one_bit), Err(DecodeError::Unsupported(_))));
    }

    #[test]
    fn corrupt_truncated_and_missing_files_are_invalid() {
        let good = encode(4, 3, ColorType::Grayscale, BitDepth::Eight, &[9u8; 12]);
        assert!(matches!(decode_png(b"not a png"), Err(DecodeError::Invalid(_))));
        assert!(matches!(
            decode_png(&good[..good.len() - 20]),
            Err(DecodeError::Invalid(_))
        ));
        let mut flipped = good.clone();
        let last = flipped.len() - 16; // inside the IDAT chunk or its CRC
        flipped[last] ^= 0xFF;
        assert!(decode_png(&flipped).is_err());
        let missing = read_png(Path::new("/nonexistent/medfusion.png"));
        assert!(matches!(missing, Err(DecodeError::Invalid(_))));
    }
}
