//! The fast JPEG decoder: libjpeg-turbo with shrink-on-load. The IDCT scales the image down by 1/2, 1/4 or
//! 1/8 while decoding, so a 12 MP photo wanted as a 256 px thumbnail is decoded at 1/8 (an eighth of the work
//! and a 64th of the memory), and the resizer finishes from there with Lanczos3.
//!
//! The scale is the smallest of 1/8, 1/4, 1/2 and 1 whose result is still at least the size the resizer
//! needs (for `cover`, the size before cropping), so the resizer only ever scales down. libjpeg-turbo also
//! offers 3/8, 5/8, … but their scaled IDCTs have no SIMD code: on the 12 MP → 1280 px benchmark (J2),
//! decoding at 1/2 instead of 3/8 took the whole job from about 61 ms to 45 ms and raised its PSNR from
//! 34.13 dB to 34.42 dB (Lanczos3 from the larger image does better than the 3/8 IDCT).
//!
//! The EXIF orientation is read from the APP1 segment and applied after decoding; for the orientations that
//! swap the axes (5 to 8) the needed size is swapped too before choosing the scale.
//!
//! Layouts libjpeg-turbo cannot turn into RGB (CMYK, YCCK), lossless JPEGs, headers it does not parse and
//! data it refuses are handed back to the `image` crate's decoder (see [`decode`]), which then gives the
//! verdict; limits are checked from the header first either way. libjpeg-turbo has no allocation limit of
//! its own to set: the header check is what bounds it, since the output buffer is sized from the header and
//! its internal buffers (rows, or whole-image coefficients for a progressive JPEG) are proportional to it.

use image::{DynamicImage, GrayImage, RgbImage, metadata::Orientation};
use imagepipe_proto::v1::ImageFormat;
use turbojpeg::{Colorspace, Decompressor, Image, PixelFormat, ScalingFactor};

use crate::{EngineError, decode::Decoded, limits::Limits};

/// Most progressive scans a JPEG may have: real encoders write about ten; thousands of tiny scans are a way
/// to make a small file cost minutes of CPU.
const MAX_SCANS: u32 = 500;

/// Decodes a JPEG, shrunk on load to no less than `min_size(upright source size)`, upright and 8-bit.
///
/// `Ok(None)` means "not for this decoder": the caller decodes `bytes` another way.
///
/// # Errors
/// [`EngineError::TooLarge`] or [`EngineError::DecodeFailed`] when the header's size is refused by `limits`
/// (checked before any pixel buffer is allocated, also for the layouts handed back);
/// [`EngineError::DecodeFailed`] for data that ends early.
pub(crate) fn decode(
    bytes: &[u8],
    limits: &Limits,
    min_size: &dyn Fn((u32, u32)) -> (u32, u32),
) -> Result<Option<Decoded>, EngineError> {
    let Ok(mut decompressor) = Decompressor::new() else {
        return Ok(None);
    };
    let Ok(header) = decompressor.read_header(bytes) else {
        return Ok(None);
    };
    // The header's size is checked before anything is allocated for the pixels, whoever decodes them.
    let (Ok(width), Ok(height)) = (u32::try_from(header.width), u32::try_from(header.height))
    else {
        return Err(EngineError::TooLarge(format!(
            "the image claims to be {}x{} pixels",
            header.width, header.height
        )));
    };
    limits.check_input(width, height)?;
    if header.is_lossless || matches!(header.colorspace, Colorspace::CMYK | Colorspace::YCCK) {
        return Ok(None);
    }

    let orientation = orientation(bytes).unwrap_or(Orientation::NoTransforms);
    let swaps_axes = swaps_axes(orientation);
    let upright = if swaps_axes {
        (height, width)
    } else {
        (width, height)
    };
    let (need_width, need_height) = min_size(upright);
    let need = if swaps_axes {
        (need_height, need_width)
    } else {
        (need_width, need_height)
    };
    let factor = scale_for((width, height), need);
    // Fast (merged, SIMD) chroma upsampling: its blockiness is far below what the resizer averages away.
    if decompressor.set_scaling_factor(factor).is_err()
        || decompressor.set_scan_limit(MAX_SCANS).is_err()
        || decompressor.set_fast_upsample(true).is_err()
    {
        return Ok(None);
    }

    let scaled = header.scaled(factor);
    let gray = header.colorspace == Colorspace::Gray;
    let format = if gray {
        PixelFormat::GRAY
    } else {
        PixelFormat::RGB
    };
    let pitch = scaled.width * format.size();
    let mut pixels = vec![0u8; pitch * scaled.height];
    let output = Image {
        pixels: pixels.as_mut_slice(),
        width: scaled.width,
        pitch,
        height: scaled.height,
        format,
    };
    // libjpeg-turbo also fails on warnings (e.g. extraneous bytes): let the other decoder judge those, but
    // not data that ends early, which the other decoder would fill with grey.
    if let Err(error) = decompressor.decompress(bytes, output) {
        if error.to_string().contains("Premature end of JPEG file") {
            return Err(EngineError::DecodeFailed(
                "the JPEG data is truncated (premature end of file)".into(),
            ));
        }
        return Ok(None);
    }
    let (Ok(scaled_width), Ok(scaled_height)) =
        (u32::try_from(scaled.width), u32::try_from(scaled.height))
    else {
        return Ok(None);
    };
    let image = if gray {
        GrayImage::from_raw(scaled_width, scaled_height, pixels).map(DynamicImage::ImageLuma8)
    } else {
        RgbImage::from_raw(scaled_width, scaled_height, pixels).map(DynamicImage::ImageRgb8)
    };
    let Some(mut image) = image else {
        return Ok(None);
    };
    image.apply_orientation(orientation);
    Ok(Some(Decoded {
        image,
        format: ImageFormat::Jpeg,
        source: upright,
    }))
}

/// The largest reduction among 1/8, 1/4 and 1/2 (the SIMD ones) that keeps a `stored` image at least `need`
/// on both sides, else none.
fn scale_for(stored: (u32, u32), need: (u32, u32)) -> ScalingFactor {
    let scaled = |factor: ScalingFactor, side: u32| factor.scale(side as usize);
    [1, 2, 4, 8]
        .into_iter()
        .map(|eighths| ScalingFactor::new(eighths, 8))
        .find(|&factor| {
            scaled(factor, stored.0) >= need.0 as usize
                && scaled(factor, stored.1) >= need.1 as usize
        })
        .unwrap_or(ScalingFactor::ONE)
}

/// Whether displaying upright exchanges width and height (EXIF orientations 5 to 8).
fn swaps_axes(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// The EXIF orientation of a JPEG: the first APP1 `Exif` segment before the image data, if any and valid.
pub(crate) fn orientation(jpeg: &[u8]) -> Option<Orientation> {
    let mut at = 2; // after SOI
    while at + 4 <= jpeg.len() {
        if jpeg[at] != 0xFF {
            return None;
        }
        let marker = jpeg[at + 1];
        if marker == 0xFF {
            at += 1; // fill byte
            continue;
        }
        // Start of scan, end of image: no EXIF before the pixels.
        if marker == 0xDA || marker == 0xD9 {
            return None;
        }
        let length = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        let segment = jpeg.get(at + 4..at + 2 + length)?;
        if marker == 0xE1
            && let Some(tiff) = segment.strip_prefix(b"Exif\0\0")
        {
            return Orientation::from_exif_chunk(tiff);
        }
        at += 2 + length;
    }
    None
}

#[cfg(test)]
mod tests {
    use image::GenericImageView;

    use super::*;
    use crate::samples;

    fn run(jpeg: &[u8], need: (u32, u32)) -> Decoded {
        decode(jpeg, &Limits::default(), &|_| need)
            .unwrap()
            .expect("libjpeg-turbo decodes it")
    }

    #[test]
    fn picks_the_largest_reduction_that_still_covers_the_need() {
        let factor = |stored, need| {
            let factor = scale_for(stored, need);
            (factor.num(), factor.denom())
        };
        assert_eq!(factor((4000, 3000), (256, 192)), (1, 8), "500x375");
        assert_eq!(
            factor((4000, 3000), (1280, 960)),
            (1, 2),
            "2000x1500: 3/8 is not used"
        );
        assert_eq!(factor((1280, 960), (256, 192)), (1, 4), "320x240");
        assert_eq!(factor((1280, 960), (1280, 960)), (1, 1));
        assert_eq!(factor((100, 100), (400, 400)), (1, 1), "enlarging");
        assert_eq!(
            factor((4000, 3000), (100, 2000)),
            (1, 1),
            "the taller need: 1/2 is 1500"
        );
        assert_eq!(factor((4000, 3000), (100, 1500)), (1, 2));
    }

    #[test]
    fn shrinks_on_load_and_reports_the_source_size() {
        let jpeg = samples::jpeg(&samples::rgb(400, 200));
        let decoded = run(&jpeg, (50, 25));
        assert_eq!(decoded.image.dimensions(), (50, 25));
        assert_eq!(decoded.source, (400, 200));
        assert_eq!(decoded.image.color(), image::ColorType::Rgb8);
        let decoded = run(&jpeg, (60, 25));
        assert_eq!(decoded.image.dimensions(), (100, 50), "2/8 covers 60");
    }

    #[test]
    fn orientations_that_swap_axes_swap_the_need() {
        // Stored 80x40; orientation 6 makes it 40x80 upright. Needing 10x20 upright is 20x10 stored: 1/4.
        let jpeg = samples::with_exif_orientation(&samples::jpeg(&samples::rgb(80, 40)), 6);
        let decoded = decode(&jpeg, &Limits::default(), &|upright| {
            assert_eq!(upright, (40, 80));
            (10, 20)
        })
        .unwrap()
        .unwrap();
        assert_eq!(decoded.source, (40, 80));
        assert_eq!(decoded.image.dimensions(), (10, 20));
    }

    #[test]
    fn reads_every_orientation() {
        let jpeg = samples::jpeg(&samples::rgb(8, 8));
        assert_eq!(orientation(&jpeg), None);
        for exif in 1..=8u8 {
            let tagged = samples::with_exif_orientation(&jpeg, u16::from(exif));
            assert_eq!(orientation(&tagged), Orientation::from_exif(exif), "{exif}");
        }
    }

    #[test]
    fn grayscale_stays_one_channel() {
        let gray = samples::encode(
            &DynamicImage::ImageLuma8(GrayImage::from_fn(32, 16, |x, _| {
                image::Luma([(x * 8) as u8])
            })),
            image::ImageFormat::Jpeg,
        );
        let decoded = run(&gray, (32, 16));
        assert_eq!(decoded.image.color(), image::ColorType::L8);
    }

    #[test]
    fn hands_cmyk_and_broken_data_back_and_refuses_truncated_data() {
        let limits = Limits::default();
        assert!(
            decode(&samples::cmyk_jpeg(), &limits, &|size| size)
                .unwrap()
                .is_none()
        );
        let jpeg = samples::jpeg(&samples::rgb(512, 512));
        let error = decode(&jpeg[..jpeg.len() * 3 / 4], &limits, &|size| size).unwrap_err();
        assert_eq!(error.code(), "decode_failed");
        assert!(
            decode(b"\xFF\xD8junk", &limits, &|size| size)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn checks_the_limits_from_the_header() {
        let jpeg = samples::jpeg(&samples::rgb(20, 20));
        let error = decode(&jpeg, &Limits::new(399), &|size| size).unwrap_err();
        assert_eq!(error.code(), "too_large");
        assert!(error.to_string().contains("20x20"), "{error}");
        // Also for the layouts handed back to the other decoder: CMYK is 8x8.
        let error = decode(&samples::cmyk_jpeg(), &Limits::new(63), &|size| size).unwrap_err();
        assert_eq!(error.code(), "too_large");
    }

    #[test]
    fn refuses_a_bomb_header_before_allocating() {
        // A 16x16 JPEG whose frame header claims 65000x60000: 3.9 gigapixels, 11.7 GB of RGB.
        let mut jpeg = samples::jpeg(&samples::rgb(16, 16));
        let sof = jpeg
            .windows(2)
            .position(|marker| marker == [0xFF, 0xC0])
            .expect("a baseline frame header");
        jpeg[sof + 5..sof + 7].copy_from_slice(&60_000u16.to_be_bytes());
        jpeg[sof + 7..sof + 9].copy_from_slice(&65_000u16.to_be_bytes());
        let error = decode(&jpeg, &Limits::default(), &|size| size).unwrap_err();
        assert_eq!(error.code(), "too_large");
        assert!(error.to_string().contains("65000x60000"), "{error}");
    }
}
