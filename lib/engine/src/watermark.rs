//! Watermarks: a line of text drawn with the bundled DejaVu Sans, or a small image, blended over a result.
//!
//! Either mark first becomes a layer: straight (not premultiplied) RGBA pixels, no larger than the result
//! less its margins, whose alpha already carries the opacity. The layer is placed at the watermark's
//! gravity inside the result less its margins and composited "over" it: grey results stay grey (a coloured
//! mark is drawn in its luminance), results without alpha get none, and transparent results become opaque
//! where the mark is. A mark too large for the result is shrunk to fit; a result too small for any mark is
//! returned as it is.

use std::sync::LazyLock;

use ab_glyph::{Font, FontRef, OutlinedGlyph, Rect, ScaleFont, point};
use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, ImageBuffer, Pixel, Rgba, RgbaImage};
use imagepipe_proto::v1::{Gravity, Watermark, watermark::Mark};

use crate::{EngineError, decode, limits::Limits};

/// Opacity of a watermark that does not say.
const DEFAULT_OPACITY: f32 = 0.5;

/// Margin of a watermark that does not say, as a fraction of the result's shorter side.
const DEFAULT_MARGIN: f64 = 0.02;

/// Text height of a text watermark that does not say, as a fraction of the result's shorter side.
const DEFAULT_TEXT_SCALE: f32 = 0.05;

/// Width of an image watermark that does not say, as a fraction of the result's width.
const DEFAULT_IMAGE_SCALE: f32 = 0.25;

/// Text colour of a text watermark that does not say: white.
const DEFAULT_COLOUR: u32 = 0xFF_FFFF;

/// Most pixels per side of a watermark image, as encoded.
const MAX_MARK_SIDE: u32 = 4096;

/// Opacity of the shadow under text (relative to the text's), which keeps it legible on a background of
/// its own colour.
const SHADOW_OPACITY: f32 = 0.5;

/// How many times text too wide for the result is laid out again, smaller, before what still overflows by
/// a rounding pixel is cut.
const FIT_ATTEMPTS: usize = 4;

/// DejaVu Sans 2.37 (Bitstream Vera licence: `assets/LICENSE-DejaVu.txt`).
static FONT: LazyLock<FontRef<'static>> = LazyLock::new(|| {
    FontRef::try_from_slice(include_bytes!("../assets/DejaVuSans.ttf"))
        .expect("the bundled DejaVu Sans is a valid TrueType font")
});

/// `image` with `watermark` drawn over it. The watermark's fields are taken as
/// [`check`](imagepipe_proto::spec::check) accepts them; a mark that cannot fit at all (the margins leave no
/// room, or text would be under a pixel high) is left out.
///
/// # Errors
/// [`EngineError::InvalidSpec`] when the watermark image cannot be decoded, or is over
/// [`MAX_MARK_SIDE`] pixels on a side or over `limits`.
pub(crate) fn apply(
    image: DynamicImage,
    watermark: &Watermark,
    limits: &Limits,
) -> Result<DynamicImage, EngineError> {
    let (width, height) = (image.width(), image.height());
    let shorter = width.min(height);
    let margin = watermark
        .margin
        .unwrap_or_else(|| (f64::from(shorter) * DEFAULT_MARGIN).round() as u32);
    let room = (
        width.saturating_sub(margin.saturating_mul(2)),
        height.saturating_sub(margin.saturating_mul(2)),
    );
    let opacity = watermark.opacity.unwrap_or(DEFAULT_OPACITY).clamp(0.0, 1.0);
    let layer = match &watermark.mark {
        Some(Mark::Text(text)) => {
            let height_px = watermark.scale.unwrap_or(DEFAULT_TEXT_SCALE) * shorter as f32;
            let colour = watermark.color.unwrap_or(DEFAULT_COLOUR);
            text_layer(text, height_px, colour, opacity, room)
        }
        Some(Mark::Image(bytes)) => {
            let mark = decode_mark(bytes, limits)?;
            let width_px =
                f64::from(watermark.scale.unwrap_or(DEFAULT_IMAGE_SCALE)) * f64::from(width);
            image_layer(mark, width_px, opacity, room)?
        }
        // `check` refuses a watermark without a mark.
        None => None,
    };
    let Some(layer) = layer.filter(|layer| layer.width() > 0 && layer.height() > 0) else {
        return Ok(image);
    };
    let gravity = match Gravity::try_from(watermark.position) {
        Ok(Gravity::Unspecified) | Err(_) => Gravity::SouthEast,
        Ok(gravity) => gravity,
    };
    let (fx, fy) = gravity.fractions();
    let offset = |room: u32, side: u32, fraction: f64| {
        margin + (f64::from(room.saturating_sub(side)) * fraction).round() as u32
    };
    let origin = (
        offset(room.0, layer.width(), fx),
        offset(room.1, layer.height(), fy),
    );
    Ok(composite(image, layer, origin))
}

/// `text` on one line, `height_px` high (shrunk to fit `room`), in `colour` over a slight shadow.
fn text_layer(
    text: &str,
    height_px: f32,
    colour: u32,
    opacity: f32,
    room: (u32, u32),
) -> Option<RgbaImage> {
    let mut line = Line::new(text, height_px)?;
    for _ in 0..FIT_ATTEMPTS {
        let (width, height) = line.size();
        if width <= room.0 && height <= room.1 {
            break;
        }
        let shrink = (room.0 as f32 / width as f32).min(room.1 as f32 / height as f32);
        line = Line::new(text, line.height_px * shrink)?;
    }
    let (width, height) = line.size();
    let (width, height) = (width.min(room.0), height.min(room.1));
    let coverage = line.coverage();
    let [_, red, green, blue] = colour.to_be_bytes();
    let luma = 0.2126 * f32::from(red) + 0.7152 * f32::from(green) + 0.0722 * f32::from(blue);
    let shade = if luma >= 128.0 { 0.0 } else { 255.0 };
    let shift = line.shadow;
    Some(RgbaImage::from_fn(width, height, |x, y| {
        let ink = coverage.at(x, y);
        let shadow = match (x.checked_sub(shift), y.checked_sub(shift)) {
            (Some(x), Some(y)) => coverage.at(x, y) * SHADOW_OPACITY,
            _ => 0.0,
        };
        // Text over its shadow.
        let below = shadow * (1.0 - ink);
        let alpha = ink + below;
        if alpha <= 0.0 {
            return Rgba([0, 0, 0, 0]);
        }
        let mix = |channel: u8| to_u8((f32::from(channel) * ink + shade * below) / alpha);
        Rgba([
            mix(red),
            mix(green),
            mix(blue),
            to_u8(alpha * opacity * 255.0),
        ])
    }))
}

/// One line of text laid out with the bundled font: its outlined glyphs and the pixel box of their ink.
struct Line {
    height_px: f32,
    glyphs: Vec<OutlinedGlyph>,
    ink: Rect,
    /// How far the shadow is offset right and down, in pixels.
    shadow: u32,
}

impl Line {
    /// `text` laid out `height_px` high; `None` when that is under a pixel or nothing would be drawn.
    fn new(text: &str, height_px: f32) -> Option<Self> {
        if !height_px.is_finite() || height_px < 1.0 {
            return None;
        }
        let font = FONT.as_scaled(height_px);
        let mut caret = 0.0;
        let mut previous = None;
        let mut glyphs = Vec::new();
        for character in text.chars() {
            let id = font.glyph_id(if character.is_control() {
                ' '
            } else {
                character
            });
            if let Some(previous) = previous {
                caret += font.kern(previous, id);
            }
            let glyph = id.with_scale_and_position(height_px, point(caret, font.ascent()));
            caret += font.h_advance(id);
            previous = Some(id);
            glyphs.extend(FONT.outline_glyph(glyph));
        }
        let ink = glyphs
            .iter()
            .map(OutlinedGlyph::px_bounds)
            .reduce(|a, b| Rect {
                min: point(a.min.x.min(b.min.x), a.min.y.min(b.min.y)),
                max: point(a.max.x.max(b.max.x), a.max.y.max(b.max.y)),
            })?;
        Some(Self {
            height_px,
            glyphs,
            ink,
            shadow: (height_px / 18.0).round().max(1.0) as u32,
        })
    }

    /// Width and height of the ink and its shadow, in pixels.
    fn size(&self) -> (u32, u32) {
        (
            self.ink.width() as u32 + self.shadow,
            self.ink.height() as u32 + self.shadow,
        )
    }

    /// How much of each pixel of the ink box the glyphs cover, 0-1.
    fn coverage(&self) -> Coverage {
        let (width, height) = (self.ink.width() as u32, self.ink.height() as u32);
        let mut values = vec![0.0_f32; width as usize * height as usize];
        for glyph in &self.glyphs {
            let bounds = glyph.px_bounds();
            let left = (bounds.min.x - self.ink.min.x) as u32;
            let top = (bounds.min.y - self.ink.min.y) as u32;
            glyph.draw(|x, y, covered| {
                let index = (top + y) as usize * width as usize + (left + x) as usize;
                if let Some(value) = values.get_mut(index) {
                    *value = (*value + covered).min(1.0);
                }
            });
        }
        Coverage {
            width,
            height,
            values,
        }
    }
}

/// Per-pixel glyph coverage of a line's ink box.
struct Coverage {
    width: u32,
    height: u32,
    values: Vec<f32>,
}

impl Coverage {
    /// The coverage at (`x`, `y`); 0 outside the box.
    fn at(&self, x: u32, y: u32) -> f32 {
        if x < self.width && y < self.height {
            self.values[y as usize * self.width as usize + x as usize]
        } else {
            0.0
        }
    }
}

/// The watermark image, decoded upright at 8 bits per channel.
fn decode_mark(bytes: &[u8], limits: &Limits) -> Result<DynamicImage, EngineError> {
    let max_pixels = limits
        .max_pixels
        .min(u64::from(MAX_MARK_SIDE) * u64::from(MAX_MARK_SIDE));
    let too_large = |reason: &str| {
        EngineError::InvalidSpec(format!(
            "the watermark image is too large ({reason}); use at most {MAX_MARK_SIDE}x{MAX_MARK_SIDE} pixels"
        ))
    };
    let decoded = decode::decode(bytes, &Limits::new(max_pixels), &|size| size).map_err(
        |error| match error {
            EngineError::TooLarge(reason) => too_large(&reason),
            EngineError::DecodeFailed(reason)
            | EngineError::UnsupportedFormat(reason)
            | EngineError::InvalidSpec(reason)
            | EngineError::EncodeFailed(reason) => {
                EngineError::InvalidSpec(format!("the watermark image cannot be read: {reason}"))
            }
        },
    )?;
    let (width, height) = (decoded.image.width(), decoded.image.height());
    if width > MAX_MARK_SIDE || height > MAX_MARK_SIDE {
        return Err(too_large(&format!("{width}x{height}")));
    }
    Ok(decoded.image)
}

/// `mark` resized to `width_px` wide (keeping its aspect ratio, shrunk to fit `room`), its alpha times
/// `opacity`; `None` when that rounds to nothing.
///
/// # Errors
/// [`EngineError::InvalidSpec`] when the resizer refuses the mark (it takes every 8-bit RGBA image).
fn image_layer(
    mark: DynamicImage,
    width_px: f64,
    opacity: f32,
    room: (u32, u32),
) -> Result<Option<RgbaImage>, EngineError> {
    let (mark_width, mark_height) = (f64::from(mark.width()), f64::from(mark.height()));
    let height_px = width_px * mark_height / mark_width;
    let fit = (f64::from(room.0) / width_px)
        .min(f64::from(room.1) / height_px)
        .min(1.0);
    let width = ((width_px * fit).round() as u32).min(room.0);
    let height = ((height_px * fit).round() as u32).min(room.1);
    if width == 0 || height == 0 {
        return Ok(None);
    }
    let mark = DynamicImage::ImageRgba8(mark.into_rgba8());
    let mut layer = if (width, height) == (mark.width(), mark.height()) {
        mark.into_rgba8()
    } else {
        let mut resized = DynamicImage::new_rgba8(width, height);
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
        Resizer::new()
            .resize(&mark, &mut resized, &options)
            .map_err(|error| {
                EngineError::InvalidSpec(format!("the watermark image cannot be resized: {error}"))
            })?;
        resized.into_rgba8()
    };
    for pixel in layer.pixels_mut() {
        pixel[3] = to_u8(f32::from(pixel[3]) * opacity);
    }
    Ok(Some(layer))
}

/// `layer` composited over `image` with its top-left corner at `origin`, cut at the image's edges.
fn composite(image: DynamicImage, layer: RgbaImage, origin: (u32, u32)) -> DynamicImage {
    let width = layer.width();
    match image {
        DynamicImage::ImageLuma8(mut base) => {
            let grey = DynamicImage::ImageRgba8(layer).into_luma_alpha8();
            blend(&mut base, &grey, width, origin);
            DynamicImage::ImageLuma8(base)
        }
        DynamicImage::ImageLumaA8(mut base) => {
            let grey = DynamicImage::ImageRgba8(layer).into_luma_alpha8();
            blend(&mut base, &grey, width, origin);
            DynamicImage::ImageLumaA8(base)
        }
        DynamicImage::ImageRgb8(mut base) => {
            blend(&mut base, &layer, width, origin);
            DynamicImage::ImageRgb8(base)
        }
        DynamicImage::ImageRgba8(mut base) => {
            blend(&mut base, &layer, width, origin);
            DynamicImage::ImageRgba8(base)
        }
        // The decoder hands the engine 8-bit pixels only; anything else is drawn on at 8 bits.
        other if other.color().has_alpha() => {
            composite(DynamicImage::ImageRgba8(other.into_rgba8()), layer, origin)
        }
        other => composite(DynamicImage::ImageRgb8(other.into_rgb8()), layer, origin),
    }
}

/// Blends `layer` (`width` pixels wide, the base's colour channels then alpha per pixel) "over" `base`.
fn blend<P: Pixel<Subpixel = u8>>(
    base: &mut ImageBuffer<P, Vec<u8>>,
    layer: &[u8],
    width: u32,
    (left, top): (u32, u32),
) {
    let colours = usize::from(P::CHANNEL_COUNT) - usize::from(P::HAS_ALPHA);
    let stride = colours + 1;
    let (base_width, base_height) = base.dimensions();
    for (dy, row) in layer.chunks_exact(width as usize * stride).enumerate() {
        let y = top.saturating_add(dy as u32);
        if y >= base_height {
            break;
        }
        for (dx, mark) in row.chunks_exact(stride).enumerate() {
            let x = left.saturating_add(dx as u32);
            if x >= base_width {
                break;
            }
            let alpha = f32::from(mark[colours]) / 255.0;
            if alpha == 0.0 {
                continue;
            }
            let pixel = base.get_pixel_mut(x, y).channels_mut();
            let under = if P::HAS_ALPHA {
                f32::from(pixel[colours]) / 255.0 * (1.0 - alpha)
            } else {
                1.0 - alpha
            };
            let total = alpha + under;
            for (channel, &value) in pixel.iter_mut().zip(&mark[..colours]) {
                *channel = to_u8((f32::from(value) * alpha + f32::from(*channel) * under) / total);
            }
            if P::HAS_ALPHA {
                pixel[colours] = to_u8(total * 255.0);
            }
        }
    }
}

/// A 0-255 value rounded to a byte.
fn to_u8(value: f32) -> u8 {
    value.round().clamp(0.0, 255.0) as u8
}

#[cfg(test)]
mod tests {
    use image::{GenericImageView, GrayImage, Luma, LumaA, Rgb, RgbImage};

    use super::*;
    use crate::samples;

    fn text(text: &str) -> Watermark {
        Watermark {
            mark: Some(Mark::Text(text.into())),
            opacity: Some(1.0),
            ..Watermark::default()
        }
    }

    fn image_mark(mark: &RgbaImage) -> Watermark {
        Watermark {
            mark: Some(Mark::Image(
                samples::encode(
                    &DynamicImage::ImageRgba8(mark.clone()),
                    image::ImageFormat::Png,
                )
                .into(),
            )),
            opacity: Some(1.0),
            ..Watermark::default()
        }
    }

    fn grey_rgb(width: u32, height: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_pixel(width, height, Rgb([128, 128, 128])))
    }

    fn apply_ok(image: &DynamicImage, watermark: &Watermark) -> DynamicImage {
        apply(image.clone(), watermark, &Limits::default()).unwrap()
    }

    /// The coordinates of the pixels that differ between `a` and `b`.
    fn changed(a: &DynamicImage, b: &DynamicImage) -> Vec<(u32, u32)> {
        assert_eq!(a.dimensions(), b.dimensions());
        a.pixels()
            .zip(b.pixels())
            .filter(|((_, _, p), (_, _, q))| p != q)
            .map(|((x, y, _), _)| (x, y))
            .collect()
    }

    #[test]
    fn text_changes_only_the_requested_corner() {
        let image = grey_rgb(200, 100);
        let south_east = changed(&image, &apply_ok(&image, &text("imagepipe")));
        assert!(south_east.len() > 50, "{} pixels changed", south_east.len());
        // Default margin: 2% of 100 = 2 px from the right and bottom edges.
        assert!(
            south_east
                .iter()
                .all(|&(x, y)| (100..198).contains(&x) && (50..98).contains(&y)),
            "{south_east:?}"
        );

        let mut watermark = text("imagepipe");
        watermark.position = Gravity::NorthWest as i32;
        watermark.margin = Some(10);
        let north_west = changed(&image, &apply_ok(&image, &watermark));
        assert!(north_west.len() > 50);
        assert!(
            north_west
                .iter()
                .all(|&(x, y)| (10..100).contains(&x) && (10..50).contains(&y)),
            "{north_west:?}"
        );
        assert!(
            north_west.iter().any(|&(x, _)| x < 12),
            "starts at the margin"
        );
    }

    #[test]
    fn opacity_zero_changes_nothing() {
        let image = DynamicImage::ImageRgb8(samples::rgb(64, 48));
        let mut watermark = text("hidden");
        watermark.opacity = Some(0.0);
        assert_eq!(apply_ok(&image, &watermark), image);
        let mut watermark = image_mark(&RgbaImage::from_pixel(8, 8, Rgba([255, 0, 0, 255])));
        watermark.opacity = Some(0.0);
        assert_eq!(apply_ok(&image, &watermark), image);
    }

    #[test]
    fn opaque_image_mark_lands_exactly_at_the_margin() {
        let blue = Rgb([0, 0, 255]);
        let image = DynamicImage::ImageRgb8(RgbImage::from_pixel(40, 40, blue));
        let mut watermark = image_mark(&RgbaImage::from_pixel(10, 10, Rgba([255, 0, 0, 255])));
        watermark.position = Gravity::NorthWest as i32;
        watermark.margin = Some(2);
        watermark.scale = Some(0.25);
        let result = apply_ok(&image, &watermark);
        let DynamicImage::ImageRgb8(result) = result else {
            panic!("expected RGB8, got {:?}", result.color());
        };
        for (x, y, pixel) in result.enumerate_pixels() {
            let inside = (2..12).contains(&x) && (2..12).contains(&y);
            let expected = if inside { Rgb([255, 0, 0]) } else { blue };
            assert_eq!(*pixel, expected, "at ({x}, {y})");
        }
    }

    #[test]
    fn image_mark_is_composited_over_transparency() {
        let image = DynamicImage::ImageRgba8(RgbaImage::new(20, 20));
        let mut watermark = image_mark(&RgbaImage::from_pixel(5, 5, Rgba([255, 0, 0, 255])));
        watermark.position = Gravity::Center as i32;
        watermark.opacity = Some(0.5);
        let result = apply_ok(&image, &watermark).into_rgba8();
        // 25% of 20 = 5 px, centred in the 20 px less 0 px margins: 7..12 (rounding 7.5 up to 8).
        assert_eq!(*result.get_pixel(10, 10), Rgba([255, 0, 0, 128]));
        assert_eq!(*result.get_pixel(2, 2), Rgba([0, 0, 0, 0]));
    }

    #[test]
    fn a_mark_larger_than_the_image_is_shrunk_to_fit() {
        let image = grey_rgb(40, 40);
        let mut watermark = image_mark(&RgbaImage::from_pixel(100, 50, Rgba([255, 0, 0, 255])));
        watermark.scale = Some(1.0);
        watermark.margin = Some(0);
        let result = apply_ok(&image, &watermark).into_rgb8();
        // 40x20 at the bottom.
        assert_eq!(*result.get_pixel(0, 39), Rgb([255, 0, 0]));
        assert_eq!(*result.get_pixel(39, 20), Rgb([255, 0, 0]));
        assert_eq!(*result.get_pixel(20, 19), Rgb([128, 128, 128]));
    }

    #[test]
    fn text_wider_than_the_image_is_scaled_down() {
        let image = grey_rgb(100, 100);
        let mut watermark = text("a watermark far too long for this image");
        watermark.scale = Some(0.5);
        let pixels = changed(&image, &apply_ok(&image, &watermark));
        assert!(!pixels.is_empty());
        let (low, high) = pixels.iter().fold((u32::MAX, 0), |(low, high), &(_, y)| {
            (low.min(y), high.max(y))
        });
        // Asked 50 px high; shrunk to fit 96 px it is a few pixels high, not cut at 50.
        assert!(high - low < 12, "text spans rows {low}..={high}");
        let (left, right) = pixels.iter().fold((u32::MAX, 0), |(low, high), &(x, _)| {
            (low.min(x), high.max(x))
        });
        assert!((2..10).contains(&left) && right < 98, "{left}..={right}");
    }

    #[test]
    fn text_is_drawn_in_its_colour() {
        let image = grey_rgb(200, 100);
        let mut watermark = text("GREEN");
        watermark.color = Some(0x00FF00);
        watermark.scale = Some(0.4);
        let result = apply_ok(&image, &watermark).into_rgb8();
        assert!(
            result.pixels().any(|p| *p == Rgb([0, 255, 0])),
            "solid green inside the glyphs"
        );
        assert!(
            result.pixels().all(|p| p[0] <= 128 && p[2] <= 128),
            "only green and the shadow's black are added"
        );
    }

    #[test]
    fn grey_stays_grey_and_alpha_is_kept_or_absent() {
        let mut watermark = text("grey");
        watermark.color = Some(0xFF0000);
        watermark.scale = Some(0.3);
        let grey = DynamicImage::ImageLuma8(GrayImage::from_pixel(80, 60, Luma([0])));
        let result = apply_ok(&grey, &watermark);
        let DynamicImage::ImageLuma8(pixels) = &result else {
            panic!("expected L8, got {:?}", result.color());
        };
        // Pure red's luminance: 0.2126 x 255 = 54.
        assert!(
            pixels.pixels().any(|p| p[0] == 54),
            "red drawn as its luminance"
        );

        let grey_alpha = DynamicImage::ImageLumaA8(ImageBuffer::from_pixel(80, 60, LumaA([0, 0])));
        let result = apply_ok(&grey_alpha, &watermark);
        let DynamicImage::ImageLumaA8(pixels) = &result else {
            panic!("expected LA8, got {:?}", result.color());
        };
        assert!(pixels.pixels().any(|p| p[1] == 255), "opaque where drawn");
        assert_eq!(pixels.get_pixel(0, 0)[1], 0, "transparent elsewhere");

        let rgb = grey_rgb(80, 60);
        assert_eq!(apply_ok(&rgb, &watermark).color(), image::ColorType::Rgb8);
    }

    #[test]
    fn tiny_images_do_not_fail() {
        let marks = [
            text("tiny"),
            image_mark(&RgbaImage::from_pixel(30, 10, Rgba([255, 0, 0, 255]))),
        ];
        for (width, height) in [(1, 1), (2, 2), (3, 1), (1, 40), (40, 1)] {
            let image = grey_rgb(width, height);
            for mark in &marks {
                for gravity in [Gravity::Unspecified, Gravity::NorthWest, Gravity::Center] {
                    for scale in [None, Some(1.0)] {
                        let mut watermark = mark.clone();
                        watermark.position = gravity as i32;
                        watermark.scale = scale;
                        let result = apply_ok(&image, &watermark);
                        assert_eq!(result.dimensions(), (width, height));
                        assert_eq!(result.color(), image::ColorType::Rgb8);
                    }
                }
            }
        }
        // Margins that leave no room leave the image as it is.
        let image = grey_rgb(30, 30);
        let mut watermark = text("no room");
        watermark.margin = Some(15);
        assert_eq!(apply_ok(&image, &watermark), image);
    }

    #[test]
    fn a_bad_watermark_image_is_an_invalid_spec() {
        let image = grey_rgb(20, 20);
        let watermark = Watermark {
            mark: Some(Mark::Image(b"not an image at all".as_slice().into())),
            ..Watermark::default()
        };
        let error = apply(image.clone(), &watermark, &Limits::default()).unwrap_err();
        assert_eq!(error.code(), "invalid_spec");
        assert!(error.to_string().contains("watermark image"), "{error}");

        let wide = image_mark(&RgbaImage::new(MAX_MARK_SIDE + 1, 1));
        let error = apply(image.clone(), &wide, &Limits::default()).unwrap_err();
        assert_eq!(error.code(), "invalid_spec");
        assert!(error.to_string().contains("too large"), "{error}");

        let mark = image_mark(&RgbaImage::new(20, 20));
        let error = apply(image, &mark, &Limits::new(399)).unwrap_err();
        assert_eq!(error.code(), "invalid_spec");
        assert!(error.to_string().contains("too large"), "{error}");
    }
}
