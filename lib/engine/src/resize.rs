//! Resampling with fast_image_resize (SIMD convolution): Lanczos3, alpha-aware, with a crop for `cover`
//! anchored where the plan's gravity says.

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::DynamicImage;

use crate::{EngineError, geometry::Plan};

/// `image` resampled to `plan`'s size (for `cover`, cropped to its aspect ratio first, keeping the part the
/// plan's anchor names). Alpha is premultiplied during resampling, so transparent pixels do not bleed their
/// colour into the edges.
///
/// # Errors
/// [`EngineError::UnsupportedFormat`] when the pixel layout is not one the resizer handles (the decoder only
/// produces 8-bit L, LA, RGB and RGBA, which all are).
pub(crate) fn resize(image: &DynamicImage, plan: &Plan) -> Result<DynamicImage, EngineError> {
    let mut resized = DynamicImage::new(plan.width, plan.height, image.color());
    let mut options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    if let Some(anchor) = plan.crop {
        // Where the kept box sits in the source, as fractions: 0 = left/top, 1 = right/bottom.
        options = options.fit_into_destination(Some(anchor.fractions()));
    }
    Resizer::new()
        .resize(image, &mut resized, &options)
        .map_err(|error| {
            EngineError::UnsupportedFormat(format!(
                "{:?} pixels cannot be resized: {error}",
                image.color()
            ))
        })?;
    Ok(resized)
}

#[cfg(test)]
mod tests {
    use image::{GenericImageView, Rgb, RgbImage, Rgba};
    use imagepipe_proto::v1::Gravity;

    use super::*;
    use crate::samples;

    #[test]
    fn resizes_to_the_plan() {
        let image = DynamicImage::ImageRgb8(samples::rgb(64, 32));
        let plan = Plan {
            width: 16,
            height: 8,
            crop: None,
        };
        let resized = resize(&image, &plan).unwrap();
        assert_eq!(resized.dimensions(), (16, 8));
        assert_eq!(resized.color(), image::ColorType::Rgb8);
    }

    /// The colour a `cover` crop of `image` to `width` x `height` under `anchor` shows everywhere.
    fn cover_colour(image: &RgbImage, (width, height): (u32, u32), anchor: Gravity) -> Rgb<u8> {
        let plan = Plan {
            width,
            height,
            crop: Some(anchor),
        };
        let resized = resize(&DynamicImage::ImageRgb8(image.clone()), &plan)
            .unwrap()
            .to_rgb8();
        let first = *resized.get_pixel(0, 0);
        for pixel in resized.pixels() {
            assert!(
                pixel
                    .0
                    .iter()
                    .zip(first.0)
                    .all(|(&a, b)| a.abs_diff(b) < 40),
                "{anchor:?}: one band only, {pixel:?} vs {first:?}"
            );
        }
        first
    }

    #[test]
    fn cover_keeps_the_side_the_gravity_names() {
        let [red, green, blue] = samples::THIRDS;
        // 30x10: red | green | blue, covering a square keeps one third, chosen by the horizontal anchor.
        let wide = samples::thirds(30, 10, false);
        // 10x30: red over green over blue, chosen by the vertical anchor.
        let tall = samples::thirds(10, 30, true);
        for anchor in Gravity::ALL {
            let (x, y) = anchor.fractions();
            let expected = |fraction: f64| {
                if fraction < 0.25 {
                    red
                } else if fraction > 0.75 {
                    blue
                } else {
                    green
                }
            };
            assert!(
                samples::close(cover_colour(&wide, (5, 5), anchor), expected(x)),
                "{anchor:?} across"
            );
            assert!(
                samples::close(cover_colour(&tall, (5, 5), anchor), expected(y)),
                "{anchor:?} down"
            );
        }
    }

    #[test]
    fn transparent_pixels_do_not_bleed() {
        let image = DynamicImage::ImageRgba8(samples::half_transparent(40, 10));
        let plan = Plan {
            width: 20,
            height: 5,
            crop: None,
        };
        let resized = resize(&image, &plan).unwrap().to_rgba8();
        let edge = resized.get_pixel(10, 2);
        assert!(edge[3] > 0, "the opaque half stays opaque");
        assert!(edge[0] < 10 && edge[1] > 150, "no black fringe: {edge:?}");
        assert_eq!(resized.get_pixel(0, 0), &Rgba([0, 0, 0, 0]));
    }
}
