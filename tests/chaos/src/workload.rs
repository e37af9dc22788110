//! The images the run submits, all derived from one seed: distinct pictures of 200–2000 px per side as JPEG
//! or PNG, each with its own options (a width, a format, a cover crop, or the `thumb,small` variants, so a
//! job can have several outputs), and now and then a large 3000x2000 PNG of noise (about 18 MB, which does
//! not compress) whose GridFS write takes long enough to be interrupted.
//!
//! An [`ImageJob`] is only a description; [`ImageJob::encode`] makes the bytes (CPU work: call it off the
//! executor) when the job is submitted, so the workload never sits in memory whole.

use std::io::Cursor;

use image::{
    ExtendedColorType, ImageEncoder, RgbImage,
    codecs::{
        jpeg::JpegEncoder,
        png::{CompressionType, FilterType, PngEncoder},
    },
};

use crate::Error;

/// One image in every this many of the paced stream is a large noisy PNG.
const LARGE_EVERY: usize = 40;
/// The size of the large noisy PNGs.
const LARGE_SIZE: (u32, u32) = (3000, 2000);

/// What an image is encoded as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// A smooth picture as JPEG (quality 85).
    Jpeg,
    /// A smooth picture as PNG.
    Png,
    /// Random pixels as PNG: incompressible, so large.
    NoisyPng,
}

/// One image to submit and the options to submit it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageJob {
    /// Its name in progress lines: `#17`, or `probe-2` for the ones the chaos submits itself.
    pub label: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Its encoding.
    pub encoding: Encoding,
    /// The query string of `POST /image` (without `?`).
    pub query: String,
    /// Seeds the pixels.
    pixels_seed: u64,
}

impl ImageJob {
    /// A large noisy PNG named `label`, seeded by `seed`: what the chaos submits right before killing save2db.
    #[must_use]
    pub fn large(label: impl Into<String>, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        Self {
            label: label.into(),
            width: LARGE_SIZE.0,
            height: LARGE_SIZE.1,
            encoding: Encoding::NoisyPng,
            query: "width=1024&format=jpeg".to_owned(),
            pixels_seed: rng.next_u64(),
        }
    }

    /// Whether this is a large noisy PNG.
    #[must_use]
    pub fn is_large(&self) -> bool {
        self.encoding == Encoding::NoisyPng
    }

    /// The `Content-Type` to upload it with.
    #[must_use]
    pub fn content_type(&self) -> &'static str {
        match self.encoding {
            Encoding::Jpeg => "image/jpeg",
            Encoding::Png | Encoding::NoisyPng => "image/png",
        }
    }

    /// The encoded image. CPU-bound (up to a few hundred milliseconds): run it with `spawn_blocking`.
    ///
    /// # Errors
    /// [`Error::Image`] when the encoder fails.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let (width, height) = (self.width, self.height);
        let mut rng = Rng::new(self.pixels_seed);
        let mut out = Cursor::new(Vec::new());
        let result = match self.encoding {
            Encoding::NoisyPng => {
                let mut pixels = vec![0_u8; width as usize * height as usize * 3];
                for chunk in pixels.chunks_mut(8) {
                    let random = rng.next_u64().to_le_bytes();
                    chunk.copy_from_slice(&random[..chunk.len()]);
                }
                PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::NoFilter)
                    .write_image(&pixels, width, height, ExtendedColorType::Rgb8)
            }
            Encoding::Jpeg | Encoding::Png => {
                let picture = smooth_picture(width, height, &mut rng);
                if self.encoding == Encoding::Jpeg {
                    JpegEncoder::new_with_quality(&mut out, 85).encode_image(&picture)
                } else {
                    PngEncoder::new_with_quality(
                        &mut out,
                        CompressionType::Fast,
                        FilterType::Adaptive,
                    )
                    .write_image(
                        picture.as_raw(),
                        width,
                        height,
                        ExtendedColorType::Rgb8,
                    )
                }
            }
        };
        result.map_err(|source| Error::Image {
            label: self.label.clone(),
            source,
        })?;
        Ok(out.into_inner())
    }
}

/// The paced stream of a run: `count` images derived from `seed`, one in `LARGE_EVERY` large.
#[must_use]
pub fn stream(seed: u64, count: usize) -> Vec<ImageJob> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|index| {
            let job_seed = rng.next_u64();
            let label = format!("#{index}");
            if index % LARGE_EVERY == LARGE_EVERY / 2 {
                ImageJob::large(label, job_seed)
            } else {
                ordinary(label, job_seed)
            }
        })
        .collect()
}

/// A smooth picture of 200–2000 px per side with options drawn from `seed`.
fn ordinary(label: String, seed: u64) -> ImageJob {
    let mut rng = Rng::new(seed);
    let width = rng.between(200, 2000);
    let height = rng.between(200, 2000);
    let encoding = if rng.below(10) < 6 {
        Encoding::Jpeg
    } else {
        Encoding::Png
    };
    let query = match rng.below(4) {
        0 => "variants=thumb,small".to_owned(),
        1 => format!(
            "width={}&height={}&fit=cover&format=webp",
            rng.between(64, 600),
            rng.between(64, 600)
        ),
        _ => {
            let format = ["jpeg", "png", "webp"][rng.below(3) as usize];
            format!("width={}&format={format}", rng.between(64, 1024))
        }
    };
    ImageJob {
        label,
        width,
        height,
        encoding,
        query,
        pixels_seed: rng.next_u64(),
    }
}

/// Diagonal gradients and stripes whose colours and periods come from `rng`: distinct per image, compressible
/// like a photograph rather than like noise, and cheap to make even unoptimised: one row of `width + height`
/// pixels is computed, and every image row is a window on it shifted by one pixel per row.
fn smooth_picture(width: u32, height: u32, rng: &mut Rng) -> RgbImage {
    let base = [rng.below(256), rng.below(256), rng.below(256)];
    let period = rng.between(16, 128);
    let span = width + height;
    let template: Vec<u8> = (0..span)
        .flat_map(|i| {
            let gradient = i * 255 / span;
            let stripe = if (i / period).is_multiple_of(2) {
                48
            } else {
                0
            };
            base.map(|channel| ((channel + gradient + stripe) % 256) as u8)
        })
        .collect();
    let row_bytes = width as usize * 3;
    let mut pixels = Vec::with_capacity(row_bytes * height as usize);
    for y in 0..height as usize {
        let start = (height as usize - 1 - y) * 3;
        pixels.extend_from_slice(&template[start..start + row_bytes]);
    }
    RgbImage::from_raw(width, height, pixels).unwrap_or_default()
}

/// SplitMix64: a small, fast, seedable generator (the workload only needs to be reproducible, not secret).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: u32) -> u32 {
        u32::try_from(self.next_u64() % u64::from(bound.max(1))).unwrap_or(0)
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: u32, high: u32) -> u32 {
        low + self.below(high - low + 1)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_stream_is_reproducible_and_varied() {
        let jobs = stream(42, 120);
        assert_eq!(jobs, stream(42, 120));
        assert_ne!(jobs, stream(43, 120));
        assert_eq!(jobs.iter().filter(|job| job.is_large()).count(), 3);
        assert!(jobs.iter().any(|job| job.encoding == Encoding::Jpeg));
        assert!(jobs.iter().any(|job| job.encoding == Encoding::Png));
        assert!(jobs.iter().any(|job| job.query.contains("variants=")));
        for job in jobs.iter().filter(|job| !job.is_large()) {
            assert!((200..=2000).contains(&job.width), "{job:?}");
            assert!((200..=2000).contains(&job.height), "{job:?}");
        }
        let seeds: HashSet<u64> = jobs.iter().map(|job| job.pixels_seed).collect();
        assert_eq!(seeds.len(), jobs.len());
    }

    #[test]
    fn images_decode_to_their_size_and_differ() {
        let jobs = stream(7, 6);
        let mut seen = HashSet::new();
        for job in jobs.iter().filter(|job| !job.is_large()) {
            let mut small = job.clone();
            (small.width, small.height) = (97, 61);
            let bytes = small.encode().unwrap();
            let decoded = image::load_from_memory(&bytes).unwrap();
            assert_eq!((decoded.width(), decoded.height()), (97, 61));
            assert!(seen.insert(bytes));
        }
    }

    #[test]
    fn noise_does_not_compress() {
        let mut job = ImageJob::large("probe-1", 1);
        (job.width, job.height) = (300, 200);
        let bytes = job.encode().unwrap();
        assert!(bytes.len() > 300 * 200 * 3, "{} bytes", bytes.len());
        assert_eq!(job.content_type(), "image/png");
        assert!(job.is_large());
    }

    #[test]
    fn bounded_numbers_stay_in_bounds() {
        let mut rng = Rng::new(1);
        for _ in 0..1000 {
            assert!((5..=9).contains(&rng.between(5, 9)));
            assert!(rng.below(3) < 3);
        }
    }
}
