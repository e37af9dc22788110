//! One job's image work: check every output's spec, decode the original once (as small as the largest output
//! allows), then render each output from the decoded pixels, largest first. The stages are timed, and the
//! times returned with the outputs: the engine records nothing itself, its caller measures what it wants.

use std::time::{Duration, Instant};

use imagepipe_proto::v1::{Output, TransformSpec, Variant};

use crate::{EngineError, decode, limits::Limits, render, request::Request};

/// The name of the single output of a job without variants.
pub const DEFAULT_OUTPUT: &str = "default";

/// What one run of the engine made, and how long its stages took.
#[derive(Debug, Clone, PartialEq)]
pub struct Transformed {
    /// The outputs, in the order they were asked for (one, named [`DEFAULT_OUTPUT`], for [`transform`]).
    pub outputs: Vec<Output>,
    /// The time each stage took.
    pub timings: Timings,
}

/// The time each stage of one run took: the decode (once), then each output's transform (reorient, resize,
/// filters, watermark) and encode, in the order the outputs were rendered (largest first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timings {
    /// Sniffing and decoding the original.
    pub decode: Duration,
    /// One entry per output.
    pub outputs: Vec<OutputTimings>,
}

/// The time one output's stages took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputTimings {
    /// Planning, reorienting, resampling, filters and the watermark.
    pub transform: Duration,
    /// Encoding.
    pub encode: Duration,
}

/// Transforms `original` as `spec` asks: one output named [`DEFAULT_OUTPUT`] with its [`ImageInfo`](imagepipe_proto::v1::ImageInfo).
///
/// The output format is `spec.format` when set, else the input's format when it can be written (JPEG, PNG,
/// WebP), else JPEG. CPU-bound and blocking: call it off the async executor.
///
/// # Errors
/// An [`EngineError`] whose [`code`](EngineError::code) says why: `invalid_spec` (checked before decoding),
/// `decode_failed`, `unsupported_format`, `too_large`, `encode_failed`.
pub fn transform(
    original: &[u8],
    spec: &TransformSpec,
    limits: &Limits,
) -> Result<Transformed, EngineError> {
    let request = Request::from_spec(spec)?;
    run(original, &[(DEFAULT_OUTPUT, request)], limits)
}

/// Transforms `original` into one output per variant, named after it, in the variants' order, all from one
/// decode. Every variant must carry its spec (presets are resolved before the engine).
///
/// # Errors
/// As [`transform`]; `invalid_spec` also for an empty list or a variant without a spec. Any variant failing
/// fails the whole job: a job's outputs are all there or none is.
pub fn transform_variants(
    original: &[u8],
    variants: &[Variant],
    limits: &Limits,
) -> Result<Transformed, EngineError> {
    if variants.is_empty() {
        return Err(EngineError::InvalidSpec("no variants to make".into()));
    }
    imagepipe_proto::spec::check_variants(variants)
        .map_err(|error| EngineError::InvalidSpec(error.0))?;
    let requests = variants
        .iter()
        .map(|variant| {
            let spec = variant.spec.as_ref().ok_or_else(|| {
                EngineError::InvalidSpec(format!("variant `{}` has no spec", variant.name))
            })?;
            let request = Request::from_spec(spec).map_err(|error| match error {
                EngineError::InvalidSpec(message) => {
                    EngineError::InvalidSpec(format!("variant `{}`: {message}", variant.name))
                }
                other => other,
            })?;
            Ok((variant.name.as_str(), request))
        })
        .collect::<Result<Vec<_>, EngineError>>()?;
    run(original, &requests, limits)
}

fn run(
    original: &[u8],
    requests: &[(&str, Request)],
    limits: &Limits,
) -> Result<Transformed, EngineError> {
    // Decode no smaller than the largest output needs, in each direction.
    let min_size = |source| {
        requests
            .iter()
            .fold((1, 1), |(width, height), (_, request)| {
                let (w, h) = render::min_decode_size(request, source, limits);
                (width.max(w), height.max(h))
            })
    };
    let decoding = Instant::now();
    let decoded = decode::decode(original, limits, &min_size)?;
    let mut timings = Timings {
        decode: decoding.elapsed(),
        outputs: Vec::with_capacity(requests.len()),
    };
    // Largest first: the biggest allocations happen while the least else is held.
    let mut order: Vec<usize> = (0..requests.len()).collect();
    order.sort_by_key(|&index| {
        let (width, height) = render::min_decode_size(&requests[index].1, decoded.source, limits);
        std::cmp::Reverse(u64::from(width) * u64::from(height))
    });
    let mut outputs: Vec<Option<Output>> = vec![None; requests.len()];
    for index in order {
        let (name, request) = &requests[index];
        let (output, output_timings) = render::render(&decoded, request, name, limits)?;
        outputs[index] = Some(output);
        timings.outputs.push(output_timings);
    }
    Ok(Transformed {
        outputs: outputs.into_iter().flatten().collect(),
        timings,
    })
}

#[cfg(test)]
mod tests {
    use image::DynamicImage;
    use imagepipe_proto::v1::{Fit, ImageFormat};

    use super::*;
    use crate::samples;

    fn spec(width: Option<u32>, height: Option<u32>, fit: Fit) -> TransformSpec {
        TransformSpec {
            width,
            height,
            fit: fit as i32,
            ..TransformSpec::default()
        }
    }

    #[test]
    fn variants_come_from_one_decode_in_their_order() {
        let jpeg = samples::jpeg(&samples::rgb(400, 300));
        let variant = |name: &str, spec: TransformSpec| Variant {
            name: name.to_owned(),
            spec: Some(spec),
        };
        let variants = [
            variant("thumb", spec(Some(40), Some(40), Fit::Cover)),
            variant(
                "big",
                TransformSpec {
                    format: ImageFormat::Webp as i32,
                    ..spec(Some(200), None, Fit::Contain)
                },
            ),
            variant("same", TransformSpec::default()),
        ];
        let done = transform_variants(&jpeg, &variants, &Limits::default()).unwrap();
        assert_eq!(done.timings.outputs.len(), 3, "every output is timed");
        let outputs = done.outputs;
        let described: Vec<_> = outputs
            .iter()
            .map(|output| {
                let info = output.info.unwrap();
                (output.name.as_str(), info.format(), info.width, info.height)
            })
            .collect();
        assert_eq!(
            described,
            [
                ("thumb", ImageFormat::Jpeg, 40, 40),
                ("big", ImageFormat::Webp, 200, 150),
                ("same", ImageFormat::Jpeg, 400, 300),
            ]
        );
        for output in &outputs {
            let decoded = image::load_from_memory(&output.data).unwrap();
            let info = output.info.unwrap();
            assert_eq!(
                (decoded.width(), decoded.height()),
                (info.width, info.height)
            );
        }
    }

    #[test]
    fn variants_need_specs_and_valid_names() {
        let jpeg = samples::jpeg(&samples::rgb(40, 30));
        let preset = [Variant {
            name: "thumb".into(),
            spec: None,
        }];
        let error = transform_variants(&jpeg, &preset, &Limits::default()).unwrap_err();
        assert_eq!(error.code(), "invalid_spec");
        assert!(error.to_string().contains("thumb"), "{error}");
        let bad = [Variant {
            name: "a".into(),
            spec: Some(TransformSpec {
                rotate: 33,
                ..TransformSpec::default()
            }),
        }];
        let error = transform_variants(&jpeg, &bad, &Limits::default()).unwrap_err();
        assert!(error.to_string().contains("variant `a`"), "{error}");
        let error = transform_variants(&jpeg, &[], &Limits::default()).unwrap_err();
        assert_eq!(error.code(), "invalid_spec");
    }

    #[test]
    fn a_watermark_is_drawn_after_resizing_where_asked() {
        use imagepipe_proto::v1::{Gravity, Watermark, watermark::Mark};
        let grey = image::RgbImage::from_pixel(400, 200, image::Rgb([60, 60, 60]));
        let png = samples::png(&grey);
        let marked = |position: Gravity| {
            let spec = TransformSpec {
                width: Some(200),
                watermark: Some(Watermark {
                    mark: Some(Mark::Text("imagepipe".into())),
                    position: position as i32,
                    opacity: Some(1.0),
                    scale: Some(0.2),
                    ..Watermark::default()
                }),
                ..TransformSpec::default()
            };
            let output = run(&png, &spec);
            assert_eq!(info(&output), (ImageFormat::Png, 200, 100));
            image::load_from_memory(&output.data).unwrap().to_rgb8()
        };
        // Which quarter of the 200x100 result differs from the plain grey.
        let changed = |pixels: &image::RgbImage, left: bool, top: bool| {
            pixels.enumerate_pixels().any(|(x, y, pixel)| {
                (x < 100) == left && (y < 50) == top && pixel.0 != [60, 60, 60]
            })
        };
        let south_east = marked(Gravity::SouthEast);
        assert!(changed(&south_east, false, false));
        assert!(!changed(&south_east, true, true));
        let north_west = marked(Gravity::NorthWest);
        assert!(changed(&north_west, true, true));
        assert!(!changed(&north_west, false, false));
        let bad_mark = TransformSpec {
            watermark: Some(Watermark {
                mark: Some(Mark::Image(bytes::Bytes::from_static(b"not an image"))),
                ..Watermark::default()
            }),
            ..TransformSpec::default()
        };
        let error = transform(&png, &bad_mark, &Limits::default()).unwrap_err();
        assert_eq!(error.code(), "invalid_spec");
    }

    fn run(original: &[u8], spec: &TransformSpec) -> Output {
        transform(original, spec, &Limits::default())
            .unwrap()
            .outputs
            .remove(0)
    }

    /// The info the engine reports, checked against the bytes it produced.
    fn info(output: &Output) -> (ImageFormat, u32, u32) {
        let info = output.info.unwrap();
        let decoded = image::load_from_memory(&output.data).unwrap();
        assert_eq!(
            (decoded.width(), decoded.height()),
            (info.width, info.height)
        );
        assert_eq!(info.bytes, output.data.len() as u64);
        assert_eq!(output.name, "default");
        (info.format(), info.width, info.height)
    }

    #[test]
    fn fits_contain_cover_and_fill() {
        let png = samples::png(&samples::rgb(400, 200));
        let cases = [
            (Fit::Unspecified, (100, 50)),
            (Fit::Contain, (100, 50)),
            (Fit::Cover, (100, 100)),
            (Fit::Fill, (100, 100)),
        ];
        for (fit, (width, height)) in cases {
            let output = run(&png, &spec(Some(100), Some(100), fit));
            assert_eq!(info(&output), (ImageFormat::Png, width, height), "{fit:?}");
        }
    }

    #[test]
    fn width_or_height_only_keeps_the_aspect_ratio() {
        let jpeg = samples::jpeg(&samples::rgb(300, 200));
        let output = run(&jpeg, &spec(Some(150), None, Fit::Unspecified));
        assert_eq!(info(&output), (ImageFormat::Jpeg, 150, 100));
        let output = run(&jpeg, &spec(None, Some(50), Fit::Fill));
        assert_eq!(info(&output), (ImageFormat::Jpeg, 75, 50));
    }

    #[test]
    fn no_size_converts_the_format_only() {
        let png = samples::png(&samples::rgb(33, 21));
        let output = run(
            &png,
            &TransformSpec {
                format: ImageFormat::Webp as i32,
                ..TransformSpec::default()
            },
        );
        assert_eq!(info(&output), (ImageFormat::Webp, 33, 21));
        assert_eq!(
            image::guess_format(&output.data).unwrap(),
            image::ImageFormat::WebP
        );
    }

    #[test]
    fn unwritable_input_formats_become_jpeg() {
        let gif = samples::two_frame_gif();
        let output = run(&gif, &TransformSpec::default());
        assert_eq!(info(&output), (ImageFormat::Jpeg, 3, 2));
        let bmp = samples::encode(
            &DynamicImage::ImageRgb8(samples::rgb(5, 5)),
            image::ImageFormat::Bmp,
        );
        let output = run(&bmp, &spec(Some(10), None, Fit::Contain));
        assert_eq!(info(&output), (ImageFormat::Jpeg, 10, 10));
    }

    #[test]
    fn transparent_png_to_jpeg() {
        let png = samples::encode(
            &DynamicImage::ImageRgba8(samples::half_transparent(64, 32)),
            image::ImageFormat::Png,
        );
        let output = run(
            &png,
            &TransformSpec {
                width: Some(32),
                format: ImageFormat::Jpeg as i32,
                quality: Some(90),
                ..TransformSpec::default()
            },
        );
        assert_eq!(info(&output), (ImageFormat::Jpeg, 32, 16));
        let decoded = image::load_from_memory(&output.data).unwrap().to_rgb8();
        assert!(decoded.get_pixel(2, 8).0.iter().all(|&c| c > 240));
    }

    #[test]
    fn sixteen_bit_png_resizes() {
        let image = image::ImageBuffer::<image::Rgb<u16>, Vec<u16>>::from_fn(40, 20, |x, y| {
            image::Rgb([(x * 1_000) as u16, (y * 2_000) as u16, 40_000])
        });
        let png = samples::encode(&DynamicImage::ImageRgb16(image), image::ImageFormat::Png);
        let output = run(&png, &spec(Some(20), None, Fit::Contain));
        assert_eq!(info(&output), (ImageFormat::Png, 20, 10));
    }

    #[test]
    fn cmyk_jpeg_converts_to_rgb() {
        let output = run(
            &samples::cmyk_jpeg(),
            &TransformSpec {
                width: Some(4),
                format: ImageFormat::Png as i32,
                ..TransformSpec::default()
            },
        );
        assert_eq!(info(&output), (ImageFormat::Png, 4, 4));
        let decoded = image::load_from_memory(&output.data).unwrap();
        assert_eq!(decoded.color(), image::ColorType::Rgb8);
        let pixel = decoded.to_rgb8().get_pixel(1, 1).0;
        assert!(
            pixel[0] == pixel[1] && pixel[1] == pixel[2],
            "equal inks give a neutral grey: {pixel:?}"
        );
        // Every ink at half (128) under half black: (255 - 128) * (255 - 128) / 255, about 64.
        assert!((60..=68).contains(&pixel[0]), "{pixel:?}");
    }

    #[test]
    fn exif_orientation_is_applied_before_resizing() {
        let jpeg = samples::with_exif_orientation(&samples::jpeg(&samples::rgb(80, 40)), 6);
        let output = run(&jpeg, &spec(Some(20), None, Fit::Contain));
        assert_eq!(
            info(&output),
            (ImageFormat::Jpeg, 20, 40),
            "upright is portrait"
        );
    }

    #[test]
    fn every_exif_orientation_survives_shrink_on_load() {
        // 160x80 stored, four coloured quadrants; shrunk to a quarter of the upright size (decoded at 2/8).
        let colours = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]];
        let stored = image::RgbImage::from_fn(160, 80, |x, y| {
            image::Rgb(colours[usize::from(x >= 80) + 2 * usize::from(y >= 40)])
        });
        let jpeg = samples::jpeg(&stored);
        for exif in 1..=8u8 {
            let orientation = image::metadata::Orientation::from_exif(exif).unwrap();
            let mut upright = DynamicImage::ImageRgb8(stored.clone());
            upright.apply_orientation(orientation);
            let (width, height) = (upright.width(), upright.height());
            let tagged = samples::with_exif_orientation(&jpeg, u16::from(exif));
            let output = run(&tagged, &spec(Some(width / 4), None, Fit::Contain));
            assert_eq!(
                info(&output),
                (ImageFormat::Jpeg, width / 4, height / 4),
                "{exif}"
            );
            let result = image::load_from_memory(&output.data).unwrap().to_rgb8();
            for (fx, fy) in [(1, 1), (3, 1), (1, 3), (3, 3)] {
                let expected = upright
                    .to_rgb8()
                    .get_pixel(width * fx / 4, height * fy / 4)
                    .0;
                let got = result.get_pixel(width * fx / 16, height * fy / 16).0;
                let close = expected.iter().zip(got).all(|(&e, g)| e.abs_diff(g) < 48);
                assert!(
                    close,
                    "orientation {exif} at {fx}/4,{fy}/4: {got:?} vs {expected:?}"
                );
            }
        }
    }

    #[test]
    fn errors_carry_their_codes() {
        let png = samples::png(&samples::rgb(20, 20));
        let code = |bytes: &[u8], spec: &TransformSpec, limits: Limits| {
            transform(bytes, spec, &limits).unwrap_err().code()
        };
        let any = TransformSpec::default();
        assert_eq!(
            code(b"not an image at all", &any, Limits::default()),
            "decode_failed"
        );
        assert_eq!(code(&png, &any, Limits::new(100)), "too_large");
        let gif_output = TransformSpec {
            format: ImageFormat::Gif as i32,
            ..any
        };
        assert_eq!(code(&png, &gif_output, Limits::default()), "invalid_spec");
        let absurd = spec(Some(100_000), None, Fit::Contain);
        assert_eq!(code(&png, &absurd, Limits::default()), "invalid_spec");
    }
}
