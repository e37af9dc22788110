//! The engine against a small set of awkward inputs, each generated here: every EXIF orientation, CMYK,
//! 16-bit, palette with transparency, animation, WebP both ways, BMP, TIFF, greyscale JPEG, and what must be
//! refused — truncated, corrupt, empty, non-image, foreign formats, bomb headers, oversized files. Every
//! case states its exact outcome (format and size of the result, or the error code and what the message
//! names), through the public API only.

mod samples;

use image::{DynamicImage, GenericImageView};
use imagepipe_engine::{self as engine, DEFAULT_MAX_INPUT_BYTES, EngineError, Limits};
use imagepipe_proto::v1::{Fit, ImageFormat, Output, TransformSpec, Variant};

use samples::RED;

/// A check of the result's pixels, beyond its format and size.
type PixelCheck = Box<dyn Fn(&DynamicImage) -> Result<(), String>>;

/// What the engine must make of a case.
enum Expected {
    /// A result in `format`, `width` x `height`, whose pixels pass `check`.
    Image {
        format: ImageFormat,
        width: u32,
        height: u32,
        check: PixelCheck,
    },
    /// An error with this code, whose message contains `mentions`.
    Error {
        code: &'static str,
        mentions: &'static str,
    },
}

/// One input, how to transform it, and the outcome.
struct Case {
    name: String,
    input: Vec<u8>,
    spec: TransformSpec,
    limits: Limits,
    expected: Expected,
}

impl Case {
    fn image(
        name: &str,
        input: Vec<u8>,
        spec: TransformSpec,
        result: (ImageFormat, u32, u32),
    ) -> Self {
        Self::checked(name, input, spec, result, Box::new(|_| Ok(())))
    }

    fn checked(
        name: &str,
        input: Vec<u8>,
        spec: TransformSpec,
        (format, width, height): (ImageFormat, u32, u32),
        check: PixelCheck,
    ) -> Self {
        Self {
            name: name.to_owned(),
            input,
            spec,
            limits: Limits::default(),
            expected: Expected::Image {
                format,
                width,
                height,
                check,
            },
        }
    }

    fn error(name: &str, input: Vec<u8>, code: &'static str, mentions: &'static str) -> Self {
        Self {
            name: name.to_owned(),
            input,
            spec: TransformSpec::default(),
            limits: Limits::default(),
            expected: Expected::Error { code, mentions },
        }
    }

    /// A decompression bomb: a tiny file whose header claims a huge image. Refusing it must cost nothing,
    /// which the size of the file guarantees as long as it is refused before its pixels are allocated.
    fn bomb(name: &str, input: Vec<u8>, mentions: &'static str) -> Self {
        assert!(input.len() < 1024, "{name}: a bomb is a tiny file");
        Self::error(name, input, "too_large", mentions)
    }

    fn with_limits(self, limits: Limits) -> Self {
        Self { limits, ..self }
    }
}

fn spec(width: Option<u32>, format: ImageFormat) -> TransformSpec {
    TransformSpec {
        width,
        fit: Fit::Contain as i32,
        format: format as i32,
        ..TransformSpec::default()
    }
}

/// Whether `got` is within `tolerance` of `want` on every channel.
fn near(got: &[u8], want: &[u8], tolerance: u8) -> bool {
    got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|(g, w)| g.abs_diff(*w) <= tolerance)
}

/// Checks that the pixel at `x`, `y` is `want` (RGBA, RGB when `want` has three channels, the first channel
/// only when it has one).
fn pixel_is(
    image: &DynamicImage,
    (x, y): (u32, u32),
    want: &[u8],
    tolerance: u8,
) -> Result<(), String> {
    let rgba = image.get_pixel(x, y).0;
    let got = &rgba[..want.len()];
    if near(got, want, tolerance) {
        Ok(())
    } else {
        Err(format!(
            "pixel {x},{y} is {got:?}, expected {want:?} ±{tolerance}"
        ))
    }
}

/// Checks that the pixel at `x`, `y` is fully transparent.
fn transparent_at(image: &DynamicImage, (x, y): (u32, u32)) -> Result<(), String> {
    match image.get_pixel(x, y).0[3] {
        0 => Ok(()),
        alpha => Err(format!("pixel {x},{y} has alpha {alpha}, expected 0")),
    }
}

fn colour_is(image: &DynamicImage, want: image::ColorType) -> Result<(), String> {
    if image.color() == want {
        Ok(())
    } else {
        Err(format!(
            "the result is {:?}, expected {want:?}",
            image.color()
        ))
    }
}

/// EXIF orientation `exif` on the 48x32 red-corner JPEG: upright size, and where the red quadrant lands.
fn orientation_case(exif: u16) -> Case {
    let jpeg = samples::encode(
        &DynamicImage::ImageRgb8(samples::red_corner()),
        image::ImageFormat::Jpeg,
    );
    let tagged = samples::with_exif_orientation(&jpeg, exif);
    let (width, height) = if exif >= 5 { (32, 48) } else { (48, 32) };
    // Quadrant of the upright image the stored top-left ends up in: (right?, bottom?).
    let (right, bottom) = match exif {
        1 | 5 => (false, false),
        2 | 6 => (true, false),
        3 | 7 => (true, true),
        _ => (false, true),
    };
    let red_at = (
        if right { width * 3 / 4 } else { width / 4 },
        if bottom { height * 3 / 4 } else { height / 4 },
    );
    let grey_at = (width - 1 - red_at.0, height - 1 - red_at.1);
    Case::checked(
        &format!("JPEG, EXIF orientation {exif}"),
        tagged,
        TransformSpec::default(),
        (ImageFormat::Jpeg, width, height),
        Box::new(move |image| {
            pixel_is(image, red_at, &RED, 40)?;
            pixel_is(image, grey_at, &[128, 128, 128], 40)
        }),
    )
}

/// Every case of the suite.
fn cases() -> Vec<Case> {
    let mut cases: Vec<Case> = (1..=8).map(orientation_case).collect();
    let palette = samples::palette_png_with_transparency;
    // Left half opaque red, right half transparent, in every format that keeps alpha.
    let keeps_alpha = || -> PixelCheck {
        Box::new(|image| {
            pixel_is(image, (2, 4), &[255, 0, 0, 255], 8)?;
            transparent_at(image, (13, 4))
        })
    };
    let lossy_webp = engine::transform(
        &samples::encode(&samples::gradient(30, 20), image::ImageFormat::Png),
        &spec(None, ImageFormat::Webp),
        &Limits::default(),
    )
    .expect("the engine writes lossy WebP")
    .outputs[0]
        .data
        .to_vec();
    assert_eq!(&lossy_webp[12..16], b"VP8 ", "lossy");
    // Cut in the middle of the entropy-coded data.
    let truncated_jpeg = samples::truncated(
        &samples::encode(&samples::gradient(128, 128), image::ImageFormat::Jpeg),
        3,
        4,
    );
    let truncated_png = samples::truncated(
        &samples::encode(&samples::gradient(64, 64), image::ImageFormat::Png),
        1,
        2,
    );
    let mut oversized = samples::encode(&samples::gradient(4, 4), image::ImageFormat::Png);
    oversized.resize(usize::try_from(DEFAULT_MAX_INPUT_BYTES).unwrap() + 1, 0);
    let small_png = samples::encode(&samples::gradient(30, 20), image::ImageFormat::Png);

    cases.extend([
        Case::checked(
            "CMYK JPEG",
            samples::cmyk_jpeg(),
            spec(None, ImageFormat::Png),
            (ImageFormat::Png, 8, 8),
            Box::new(|image| {
                colour_is(image, image::ColorType::Rgb8)?;
                // Every ink at half under half black: (255 - 128) * (255 - 128) / 255, a neutral 63.
                pixel_is(image, (4, 4), &[63, 63, 63], 4)
            }),
        ),
        Case::checked(
            "16-bit RGB PNG",
            samples::png_rgb16(),
            TransformSpec::default(),
            (ImageFormat::Png, 24, 12),
            Box::new(|image| {
                colour_is(image, image::ColorType::Rgb8)?;
                pixel_is(image, (2, 6), &[255, 0, 0], 0)?;
                pixel_is(image, (21, 6), &[0, 0, 255], 0)
            }),
        ),
        Case::checked(
            "16-bit grey PNG",
            samples::png_gray16(),
            spec(Some(10), ImageFormat::Unspecified),
            (ImageFormat::Png, 10, 5),
            Box::new(|image| {
                colour_is(image, image::ColorType::L8)?;
                pixel_is(image, (5, 2), &[128, 128, 128], 1)
            }),
        ),
        Case::checked(
            "palette PNG with transparency, to PNG",
            palette(),
            TransformSpec::default(),
            (ImageFormat::Png, 16, 8),
            keeps_alpha(),
        ),
        Case::checked(
            "palette PNG with transparency, to WebP",
            palette(),
            spec(None, ImageFormat::Webp),
            (ImageFormat::Webp, 16, 8),
            keeps_alpha(),
        ),
        Case::checked(
            "palette PNG with transparency, to JPEG (flattened on white)",
            palette(),
            spec(None, ImageFormat::Jpeg),
            (ImageFormat::Jpeg, 16, 8),
            Box::new(|image| {
                colour_is(image, image::ColorType::Rgb8)?;
                pixel_is(image, (2, 4), &RED, 40)?;
                pixel_is(image, (13, 4), &[255, 255, 255], 16)
            }),
        ),
        Case::checked(
            "animated GIF: its first frame, as JPEG",
            samples::two_frame_gif(),
            TransformSpec::default(),
            (ImageFormat::Jpeg, 16, 8),
            Box::new(|image| pixel_is(image, (8, 4), &RED, 40)),
        ),
        Case::image(
            "lossy WebP",
            lossy_webp,
            spec(Some(15), ImageFormat::Unspecified),
            (ImageFormat::Webp, 15, 10),
        ),
        Case::checked(
            "lossless WebP with alpha",
            samples::lossless_webp(),
            TransformSpec::default(),
            (ImageFormat::Webp, 20, 10),
            Box::new(|image| {
                pixel_is(image, (3, 5), &[0, 200, 0, 255], 16)?;
                transparent_at(image, (16, 5))
            }),
        ),
        Case::image(
            "BMP",
            samples::encode(&samples::gradient(30, 20), image::ImageFormat::Bmp),
            spec(Some(15), ImageFormat::Unspecified),
            (ImageFormat::Jpeg, 15, 10),
        ),
        Case::image(
            "TIFF",
            samples::encode(&samples::gradient(30, 20), image::ImageFormat::Tiff),
            TransformSpec::default(),
            (ImageFormat::Jpeg, 30, 20),
        ),
        Case::checked(
            "greyscale JPEG",
            samples::gray_jpeg(),
            spec(Some(20), ImageFormat::Unspecified),
            (ImageFormat::Jpeg, 20, 12),
            Box::new(|image| colour_is(image, image::ColorType::L8)),
        ),
        Case::error(
            "truncated JPEG",
            truncated_jpeg,
            "decode_failed",
            "truncated",
        ),
        Case::error("truncated PNG", truncated_png, "decode_failed", ""),
        Case::error(
            "corrupt PNG",
            samples::corrupt_png(64, 64),
            "decode_failed",
            "",
        ),
        Case::error(
            "empty bytes",
            Vec::new(),
            "decode_failed",
            "not a recognised image",
        ),
        Case::error(
            "text",
            b"Dear transformer, please resize me.\n".to_vec(),
            "decode_failed",
            "not a recognised image",
        ),
        Case::error("ICO", samples::ico(), "unsupported_format", "ico"),
        Case::error(
            "AVIF",
            samples::avif_signature(),
            "unsupported_format",
            "avif",
        ),
        Case::bomb(
            "PNG claiming 40000x40000",
            samples::png_header_only(40_000, 40_000),
            "40000x40000",
        ),
        Case::bomb(
            "JPEG claiming 65000x60000",
            samples::jpeg_claiming(65_000, 60_000),
            "65000x60000",
        ),
        Case::bomb(
            "GIF claiming 65535x65535",
            samples::gif_screen(65_535, 65_535),
            "65535x65535",
        ),
        Case::bomb(
            "PNG claiming 10000x10000 (sides allowed, pixels not)",
            samples::png_header_only(10_000, 10_000),
            "10000x10000 = 100000000 pixels",
        ),
        Case::bomb(
            "GIF with a 65535x65535 frame on a 1x1 screen",
            samples::gif_frame_larger_than_its_screen(),
            "memory limit",
        ),
        Case::error(
            "file over the default byte limit",
            oversized,
            "too_large",
            "the file is 26214401 bytes; at most 26214400",
        ),
        Case::error(
            "file over a configured byte limit",
            small_png.clone(),
            "too_large",
            "bytes are accepted",
        )
        .with_limits(Limits::default().with_max_input_bytes(100)),
        Case::error(
            "side over a configured dimension limit",
            small_png,
            "too_large",
            "30x20 pixels; at most 29 pixels per side",
        )
        .with_limits(Limits::default().with_max_dimension(29)),
    ]);
    cases
}

/// What is wrong with the engine's `outcome` for `case`, if anything.
fn mismatch(case: &Case, outcome: Result<&Output, &EngineError>) -> Option<String> {
    match (&case.expected, outcome) {
        (
            Expected::Image {
                format,
                width,
                height,
                check,
            },
            Ok(output),
        ) => {
            let info = output.info.unwrap_or_default();
            let made = (info.format(), info.width, info.height);
            if made != (*format, *width, *height) {
                return Some(format!(
                    "made {made:?}, expected {:?}",
                    (format, width, height)
                ));
            }
            if info.bytes != output.data.len() as u64 {
                return Some(format!(
                    "reported {} bytes, made {}",
                    info.bytes,
                    output.data.len()
                ));
            }
            let written = image::guess_format(&output.data).ok();
            if written != Some(image_format(*format)) {
                return Some(format!("reported {format:?}, wrote {written:?}"));
            }
            let decoded = match image::load_from_memory(&output.data) {
                Ok(decoded) => decoded,
                Err(error) => return Some(format!("the result does not decode: {error}")),
            };
            if decoded.dimensions() != (*width, *height) {
                return Some(format!("the result is {:?}", decoded.dimensions()));
            }
            check(&decoded).err()
        }
        (Expected::Image { .. }, Err(error)) => {
            Some(format!("failed with {}: {error}", error.code()))
        }
        (Expected::Error { code, mentions }, Err(error)) => {
            let right = error.code() == *code && error.to_string().contains(mentions);
            (!right).then(|| {
                format!(
                    "failed with {}: {error}; expected {code} mentioning {mentions:?}",
                    error.code()
                )
            })
        }
        (Expected::Error { code, .. }, Ok(output)) => {
            Some(format!("made {:?}; expected {code}", output.info))
        }
    }
}

/// The `image` crate's name of a format the engine writes.
fn image_format(format: ImageFormat) -> image::ImageFormat {
    match format {
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::Webp => image::ImageFormat::WebP,
        _ => image::ImageFormat::Jpeg,
    }
}

/// Every failure of `outcomes`, one line each, or nothing.
fn report(failures: &[String]) -> String {
    format!(
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    )
}

#[test]
fn every_awkward_input_has_its_exact_outcome() {
    let failures: Vec<String> = cases()
        .iter()
        .filter_map(|case| {
            let outcome = engine::transform(&case.input, &case.spec, &case.limits)
                .map(|transformed| transformed.outputs);
            mismatch(case, outcome.as_ref().map(|outputs| &outputs[0]))
                .map(|why| format!("{}: {why}", case.name))
        })
        .collect();
    assert!(failures.is_empty(), "{}", report(&failures));
}

#[test]
fn as_variants_the_outcomes_are_the_same() {
    let thumbnail = TransformSpec {
        width: Some(4),
        format: ImageFormat::Png as i32,
        ..TransformSpec::default()
    };
    let failures: Vec<String> = cases()
        .iter()
        .filter_map(|case| {
            let variants = [
                Variant {
                    name: "asked".into(),
                    spec: Some(case.spec.clone()),
                },
                Variant {
                    name: "thumb".into(),
                    spec: Some(thumbnail.clone()),
                },
            ];
            let why = match engine::transform_variants(&case.input, &variants, &case.limits) {
                Err(error) => mismatch(case, Err(&error)),
                Ok(transformed) => {
                    let outputs = transformed.outputs;
                    let names: Vec<&str> =
                        outputs.iter().map(|output| output.name.as_str()).collect();
                    let thumb = outputs.get(1).and_then(|output| output.info);
                    if names != ["asked", "thumb"] {
                        Some(format!("outputs {names:?}"))
                    } else if thumb
                        .is_none_or(|info| info.width != 4 || info.format() != ImageFormat::Png)
                    {
                        Some(format!("thumbnail {thumb:?}"))
                    } else {
                        mismatch(case, Ok(&outputs[0]))
                    }
                }
            };
            why.map(|why| format!("{}: {why}", case.name))
        })
        .collect();
    assert!(failures.is_empty(), "{}", report(&failures));
}
