//! Portable counter-based random indices for bootstrap resampling.
//!
//! The same definition lives in numpy in `medfusion_core.kernels` so both backends draw exactly
//! the same resamples:
//!
//! * `mix64` is the SplitMix64 finaliser;
//! * resample `i` of a run seeded with `seed` has the key `mix64(mix64(seed + GOLDEN) + i)`;
//! * its `j`-th draw (j = 0..n) is `mulhi(mix64(key + (j + 1) * GOLDEN), n)`, where
//!   `mulhi(z, n) = (z * n) >> 64` maps a 64-bit word to `0..n` (Lemire's multiply-shift).
//!
//! All arithmetic wraps modulo 2^64.

/// The SplitMix64 increment (2^64 / golden ratio).
pub const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64 output function: a bijective 64-bit mixer.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The key of stream (resample) `stream` under `seed`.
#[inline]
pub fn stream_key(seed: u64, stream: u64) -> u64 {
    mix64(mix64(seed.wrapping_add(GOLDEN)).wrapping_add(stream))
}

/// Draw `j` (0-based) of the stream with key `key`, mapped to `0..n`.
#[inline]
pub fn draw(key: u64, j: u64, n: u64) -> u64 {
    let z = mix64(key.wrapping_add(j.wrapping_add(1).wrapping_mul(GOLDEN)));
    ((z as u128 * n as u128) >> 64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix64_matches_published_splitmix64_outputs() {
        // SplitMix64 seeded with 0 yields mix64(GOLDEN), mix64(2 * GOLDEN), ...
        assert_eq!(mix64(GOLDEN), 0xE220_A839_7B1D_CDAF);
        assert_eq!(mix64(GOLDEN.wrapping_mul(2)), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(mix64(0), 0);
    }

    #[test]
    fn draws_are_in_range_and_roughly_uniform() {
        let key = stream_key(7, 3);
        let n = 10u64;
        let mut counts = [0u32; 10];
        for j in 0..100_000 {
            let v = draw(key, j, n);
            assert!(v < n);
            counts[v as usize] += 1;
        }
        for c in counts {
            assert!((9_000..11_000).contains(&c), "count {c}");
        }
    }

    #[test]
    fn streams_differ() {
        assert_ne!(stream_key(0, 0), stream_key(0, 1));
        assert_ne!(stream_key(0, 0), stream_key(1, 0));
    }
}
