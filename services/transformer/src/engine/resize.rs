//! Resampling with fast_image_resize (SIMD convolution): Lanczos3, alpha-aware, with a centred crop for
//! `cover`.

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::DynamicImage;

use super::geometry::Plan;
use crate::EngineError;

/// `image` resampled to `plan`'s size (cropped centred to its aspect ratio first for `cover`). Alpha is
/// premultiplied during resampling, so transparent pixels do not bleed their colour into the edges.
///
/// # Errors
/// [`EngineError::UnsupportedFormat`] when the pixel layout is not one the resizer handles (the decoder only
/// produces 8-bit L, LA, RGB and RGBA, which all are).
pub(crate) fn resize(image: &DynamicImage, plan: &Plan) -> Result<DynamicImage, EngineError> {
    let mut resized = DynamicImage::new(plan.width, plan.height, image.color());
    let mut options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    if plan.crop_to_fit {
        options = options.fit_into_destination(Some((0.5, 0.5)));
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

    use super::*;
    use crate::engine::samples;

    #[test]
    fn resizes_to_the_plan() {
        let image = DynamicImage::ImageRgb8(samples::rgb(64, 32));
        let plan = Plan {
            width: 16,
            height: 8,
            crop_to_fit: false,
        };
        let resized = resize(&image, &plan).unwrap();
        assert_eq!(resized.dimensions(), (16, 8));
        assert_eq!(resized.color(), image::ColorType::Rgb8);
    }

    #[test]
    fn cover_crops_the_centre() {
        // 30x10: red | green | blue thirds. Covering a 10x10 box keeps the green centre only.
        let image = DynamicImage::ImageRgb8(RgbImage::from_fn(30, 10, |x, _| match x / 10 {
            0 => Rgb([255, 0, 0]),
            1 => Rgb([0, 255, 0]),
            _ => Rgb([0, 0, 255]),
        }));
        let plan = Plan {
            width: 5,
            height: 5,
            crop_to_fit: true,
        };
        let resized = resize(&image, &plan).unwrap().to_rgb8();
        for pixel in resized.pixels() {
            assert!(
                pixel[1] > 200 && pixel[0] < 40 && pixel[2] < 40,
                "{pixel:?}"
            );
        }
    }

    #[test]
    fn transparent_pixels_do_not_bleed() {
        let image = DynamicImage::ImageRgba8(samples::half_transparent(40, 10));
        let plan = Plan {
            width: 20,
            height: 5,
            crop_to_fit: false,
        };
        let resized = resize(&image, &plan).unwrap().to_rgba8();
        let edge = resized.get_pixel(10, 2);
        assert!(edge[3] > 0, "the opaque half stays opaque");
        assert!(edge[0] < 10 && edge[1] > 150, "no black fringe: {edge:?}");
        assert_eq!(resized.get_pixel(0, 0), &Rgba([0, 0, 0, 0]));
    }
}
