//! One output from a decoded image, in this order: rotate → flip → crop and resample → grayscale → blur →
//! sharpen → watermark → encode. The job-level [`super::transform`] decodes once and calls [`render`] for each
//! variant.
//!
//! The rotation and flip are planned first (the result's box is the rotated one) but done on whichever of the
//! source and the result has fewer pixels: a 12 MP photo wanted as a 200 px rotated thumbnail is resampled
//! unrotated to the turned plan ([`Plan::before`]) and only the thumbnail is turned. Both orders give the same
//! geometry.

use image::{DynamicImage, GenericImageView};
use imagepipe_proto::v1::{Flip, ImageFormat, ImageInfo, Output};

use crate::{
    EngineError, OutputTimings,
    decode::Decoded,
    encode,
    geometry::{self, Plan},
    limits::Limits,
    ops,
    request::{Request, Rotation},
    resize, watermark,
};

/// The smallest size the upright `source` may be decoded at and still give `request`'s result by scaling
/// down only, in the source's (unrotated) orientation (the source size when the request cannot be planned:
/// the error comes again from [`render`]).
pub(crate) fn min_decode_size(
    request: &Request,
    source: (u32, u32),
    limits: &Limits,
) -> (u32, u32) {
    geometry::plan(source, request, limits).map_or(source, |plan| {
        plan.before(request.rotation, request.flip)
            .min_decode_size(source)
    })
}

/// `decoded` made into the output `name` as `request` asks, and how long its transform and encode took.
///
/// The output format is the request's when set, else the input's when it can be written (JPEG, PNG, WebP),
/// else JPEG.
///
/// # Errors
/// `too_large` for a result over the limits, `encode_failed` when the encoder refuses it.
pub(crate) fn render(
    decoded: &Decoded,
    request: &Request,
    name: &str,
    limits: &Limits,
) -> Result<(Output, OutputTimings), EngineError> {
    let format = request.format.unwrap_or(if decoded.format.is_writable() {
        decoded.format
    } else {
        ImageFormat::Jpeg
    });
    let transforming = std::time::Instant::now();
    let plan = geometry::plan(decoded.source, request, limits)?;
    let order = if reorients(request.rotation, request.flip)
        && pixels((plan.width, plan.height)) > pixels(decoded.image.dimensions())
    {
        Order::ReorientFirst
    } else {
        Order::ResizeFirst
    };
    let image = shape(&decoded.image, &plan, request.rotation, request.flip, order)?;
    let image = finish(image, request);
    let image = match &request.watermark {
        Some(watermark) => watermark::apply(image, watermark, limits)?,
        None => image,
    };
    let (width, height) = image.dimensions();
    let transform = transforming.elapsed();
    let encoding = std::time::Instant::now();
    let data = encode::encode(image, format, request)?;
    let timings = OutputTimings {
        transform,
        encode: encoding.elapsed(),
    };
    let output = Output {
        name: name.to_owned(),
        info: Some(ImageInfo {
            format: format as i32,
            width,
            height,
            bytes: data.len() as u64,
        }),
        data: data.into(),
    };
    Ok((output, timings))
}

/// Which comes first: turning the image or resampling it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// Turn the source, then resample it to the plan (cheaper when the result is the larger).
    ReorientFirst,
    /// Resample the source to the plan as seen before turning, then turn the result.
    ResizeFirst,
}

fn reorients(rotation: Rotation, flip: Flip) -> bool {
    rotation != Rotation::None || flip != Flip::Unspecified
}

fn pixels((width, height): (u32, u32)) -> u64 {
    u64::from(width) * u64::from(height)
}

/// `image` turned by `rotation` then `flip` and resampled to `plan` (in the result's orientation), in `order`.
fn shape(
    image: &DynamicImage,
    plan: &Plan,
    rotation: Rotation,
    flip: Flip,
    order: Order,
) -> Result<DynamicImage, EngineError> {
    let resampled = |image: &DynamicImage, plan: &Plan| {
        if plan.keeps_size(image.dimensions()) {
            Ok(image.clone())
        } else {
            resize::resize(image, plan)
        }
    };
    Ok(match order {
        Order::ReorientFirst => resampled(&ops::reorient(image.clone(), rotation, flip), plan)?,
        Order::ResizeFirst => ops::reorient(
            resampled(image, &plan.before(rotation, flip))?,
            rotation,
            flip,
        ),
    })
}

/// The operations on the resampled result, in order: grayscale (first: the filters then see one channel),
/// blur, sharpen.
fn finish(mut image: DynamicImage, request: &Request) -> DynamicImage {
    if request.grayscale {
        image = ops::grayscale(image);
    }
    if let Some(sigma) = request.blur {
        image = ops::blur(&image, sigma);
    }
    if let Some(sigma) = request.sharpen {
        image = ops::sharpen(&image, sigma);
    }
    image
}

#[cfg(test)]
mod tests {
    use image::{Rgb, RgbImage};
    use imagepipe_proto::v1::{Fit, Gravity, TransformSpec};

    use super::*;
    use crate::{samples, transform};

    fn request(spec: TransformSpec) -> Request {
        Request::from_spec(&spec).unwrap()
    }

    const ROTATIONS: [u32; 4] = [0, 90, 180, 270];
    const FLIPS: [Flip; 4] = [
        Flip::Unspecified,
        Flip::Horizontal,
        Flip::Vertical,
        Flip::Both,
    ];

    /// `image` turned the slow, obvious way: rotate, then flip, each with the `image` crate.
    fn turned(image: &DynamicImage, degrees: u32, flip: Flip) -> DynamicImage {
        let rotated = match degrees {
            90 => image.rotate90(),
            180 => image.rotate180(),
            270 => image.rotate270(),
            _ => image.clone(),
        };
        match flip {
            Flip::Horizontal => rotated.fliph(),
            Flip::Vertical => rotated.flipv(),
            Flip::Both => rotated.fliph().flipv(),
            Flip::Unspecified => rotated,
        }
    }

    #[test]
    fn both_orders_give_the_same_result() {
        let source = DynamicImage::ImageRgb8(samples::quadrants(64, 32));
        for fit in [Fit::Contain, Fit::Cover, Fit::Fill, Fit::Inside] {
            for (width, height) in [(16, 12), (100, 90)] {
                for degrees in ROTATIONS {
                    for flip in FLIPS {
                        let request = request(TransformSpec {
                            width: Some(width),
                            height: Some(height),
                            fit: fit as i32,
                            gravity: Gravity::NorthWest as i32,
                            rotate: degrees,
                            flip: flip as i32,
                            ..TransformSpec::default()
                        });
                        let plan = geometry::plan((64, 32), &request, &Limits::default()).unwrap();
                        let shaped = |order| {
                            shape(&source, &plan, request.rotation, flip, order)
                                .unwrap()
                                .to_rgb8()
                        };
                        let (first, last) =
                            (shaped(Order::ReorientFirst), shaped(Order::ResizeFirst));
                        let case = format!("{fit:?} {width}x{height} {degrees} {flip:?}");
                        assert_eq!(first.dimensions(), (plan.width, plan.height), "{case}");
                        assert_eq!(first.dimensions(), last.dimensions(), "{case}");
                        for (a, b) in first.pixels().zip(last.pixels()) {
                            assert!(samples::close(*a, *b), "{case}: {a:?} vs {b:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn every_rotation_and_flip_through_the_engine() {
        let source = DynamicImage::ImageRgb8(samples::quadrants(80, 40));
        let png = samples::png(&source.to_rgb8());
        for degrees in ROTATIONS {
            for flip in FLIPS {
                let expected = turned(&source, degrees, flip).to_rgb8();
                let (width, height) = expected.dimensions();
                let spec = TransformSpec {
                    width: Some(width / 2),
                    rotate: degrees,
                    flip: flip as i32,
                    ..TransformSpec::default()
                };
                let output = transform(&png, &spec, &Limits::default())
                    .unwrap()
                    .outputs
                    .remove(0);
                let result = image::load_from_memory(&output.data).unwrap().to_rgb8();
                assert_eq!(
                    result.dimensions(),
                    (width / 2, height / 2),
                    "{degrees} {flip:?}"
                );
                assert_eq!(
                    samples::quadrant_colours(&result),
                    samples::quadrant_colours(&expected),
                    "{degrees} {flip:?}"
                );
            }
        }
    }

    #[test]
    fn gravity_is_in_the_result_orientation() {
        // 30x10 red | green | blue, turned a quarter clockwise: 10x30, red on top. North keeps the red.
        let png = samples::png(&samples::thirds(30, 10, false));
        let [red, green, blue] = samples::THIRDS;
        for (degrees, flip, gravity, colour) in [
            (90, Flip::Unspecified, Gravity::North, red),
            (90, Flip::Unspecified, Gravity::South, blue),
            (90, Flip::Vertical, Gravity::North, blue),
            (270, Flip::Unspecified, Gravity::North, blue),
            (270, Flip::Unspecified, Gravity::Center, green),
            (0, Flip::Horizontal, Gravity::West, blue),
            (180, Flip::Unspecified, Gravity::East, red),
            (90, Flip::Horizontal, Gravity::NorthEast, red),
        ] {
            let spec = TransformSpec {
                width: Some(4),
                height: Some(4),
                fit: Fit::Cover as i32,
                gravity: gravity as i32,
                rotate: degrees,
                flip: flip as i32,
                ..TransformSpec::default()
            };
            let output = transform(&png, &spec, &Limits::default())
                .unwrap()
                .outputs
                .remove(0);
            let result = image::load_from_memory(&output.data).unwrap().to_rgb8();
            for pixel in result.pixels() {
                assert!(
                    samples::close(*pixel, colour),
                    "{degrees} {flip:?} {gravity:?}: {pixel:?}"
                );
            }
        }
    }

    #[test]
    fn quarter_turns_shrink_on_load_in_the_stored_orientation() {
        // 160x80 stored; turned, 80x160; 20 wide is 20x40, i.e. 40x20 before turning: decoded at 2/8.
        let request = request(TransformSpec {
            width: Some(20),
            rotate: 90,
            ..TransformSpec::default()
        });
        assert_eq!(
            min_decode_size(&request, (160, 80), &Limits::default()),
            (40, 20)
        );
        let jpeg = samples::jpeg(&samples::quadrants(160, 80));
        let [red, green, blue, yellow] = samples::QUADRANTS;
        for (degrees, colours) in [
            (90, [blue, red, yellow, green]),
            (270, [green, yellow, red, blue]),
        ] {
            let spec = TransformSpec {
                width: Some(20),
                rotate: degrees,
                ..TransformSpec::default()
            };
            let output = transform(&jpeg, &spec, &Limits::default())
                .unwrap()
                .outputs
                .remove(0);
            let info = output.info.unwrap();
            assert_eq!((info.width, info.height), (20, 40));
            let result = image::load_from_memory(&output.data).unwrap().to_rgb8();
            assert_eq!(result.dimensions(), (20, 40));
            let got = samples::quadrant_colours(&result);
            for (got, expected) in got.iter().zip(colours) {
                assert!(
                    samples::close(*got, expected),
                    "{degrees}: {got:?} vs {expected:?}"
                );
            }
        }
    }

    #[test]
    fn cover_shrinks_on_load_to_the_turned_uncropped_size() {
        // 400x200 turned: 200x400; covering 100x100 scales it to 100x200 first: 200x100 stored.
        let request = request(TransformSpec {
            width: Some(100),
            height: Some(100),
            fit: Fit::Cover as i32,
            rotate: 270,
            ..TransformSpec::default()
        });
        assert_eq!(
            min_decode_size(&request, (400, 200), &Limits::default()),
            (200, 100)
        );
    }

    #[test]
    fn operations_after_resampling() {
        let png = samples::png(&samples::quadrants(64, 64));
        let run = |spec: TransformSpec| {
            let output = transform(&png, &spec, &Limits::default())
                .unwrap()
                .outputs
                .remove(0);
            image::load_from_memory(&output.data).unwrap()
        };
        let grey = run(TransformSpec {
            width: Some(32),
            grayscale: true,
            ..TransformSpec::default()
        });
        assert_eq!(grey.color(), image::ColorType::L8, "PNG keeps one channel");
        assert_eq!(grey.dimensions(), (32, 32));
        let grey_jpeg = run(TransformSpec {
            grayscale: true,
            format: ImageFormat::Jpeg as i32,
            ..TransformSpec::default()
        });
        assert_eq!(grey_jpeg.color(), image::ColorType::L8);
        // Sharp quadrant edges: blur makes the seam between red and green soft, sharpen leaves it hard.
        let seam = |image: &DynamicImage| {
            let rgb: RgbImage = image.to_rgb8();
            let Rgb([red, _, _]) = *rgb.get_pixel(15, 8);
            red
        };
        let plain = run(TransformSpec {
            width: Some(32),
            ..TransformSpec::default()
        });
        let blurred = run(TransformSpec {
            width: Some(32),
            blur: Some(4.0),
            ..TransformSpec::default()
        });
        let sharpened = run(TransformSpec {
            width: Some(32),
            sharpen: Some(1.0),
            ..TransformSpec::default()
        });
        assert!(
            seam(&blurred) + 40 < seam(&plain),
            "{} vs {}",
            seam(&blurred),
            seam(&plain)
        );
        assert!(seam(&sharpened) >= seam(&plain));
    }
}
