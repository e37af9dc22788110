//! Images generated for the engine's unit tests: encoded in memory, never read from disk. The generators the
//! awkward-input suite has too (encoding, EXIF tagging, the hand-made CMYK JPEG) come from its file, so there
//! is one of each.

use image::{
    Delay, DynamicImage, Frame, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage,
    codecs::gif::GifEncoder,
};

pub(crate) use awkward::{cmyk_jpeg, encode, with_exif_orientation};

/// The awkward-input suite's generators; the unit tests use some of them.
#[allow(dead_code)]
#[path = "../tests/awkward/samples.rs"]
mod awkward;

/// A `width` x `height` RGB gradient.
pub(crate) fn rgb(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([
            (x * 255 / width.max(1)) as u8,
            (y * 255 / height.max(1)) as u8,
            96,
        ])
    })
}

/// The bands of [`thirds`], in order: red, green, blue.
pub(crate) const THIRDS: [Rgb<u8>; 3] = [Rgb([255, 0, 0]), Rgb([0, 255, 0]), Rgb([0, 0, 255])];

/// A `width` x `height` image in three equal bands of [`THIRDS`]: left to right, or top to bottom when `down`.
pub(crate) fn thirds(width: u32, height: u32, down: bool) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let band = if down { y * 3 / height } else { x * 3 / width };
        THIRDS[band as usize]
    })
}

/// The colours of [`quadrants`]: top-left red, top-right green, bottom-left blue, bottom-right yellow.
pub(crate) const QUADRANTS: [Rgb<u8>; 4] = [
    Rgb([255, 0, 0]),
    Rgb([0, 255, 0]),
    Rgb([0, 0, 255]),
    Rgb([255, 255, 0]),
];

/// A `width` x `height` image in four quadrants of [`QUADRANTS`].
pub(crate) fn quadrants(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        QUADRANTS[usize::from(x >= width / 2) + 2 * usize::from(y >= height / 2)]
    })
}

/// The colours at the centres of `image`'s quadrants, in the order of [`QUADRANTS`].
pub(crate) fn quadrant_colours(image: &RgbImage) -> [Rgb<u8>; 4] {
    let (width, height) = image.dimensions();
    [(1, 1), (3, 1), (1, 3), (3, 3)].map(|(x, y)| *image.get_pixel(width * x / 4, height * y / 4))
}

/// Whether two colours are equal up to resampling and JPEG error (each channel within 48).
pub(crate) fn close(a: Rgb<u8>, b: Rgb<u8>) -> bool {
    a.0.iter().zip(b.0).all(|(&a, b)| a.abs_diff(b) < 48)
}

/// A `width` x `height` RGBA image, fully transparent on its left half and opaque green on its right half.
pub(crate) fn half_transparent(width: u32, height: u32) -> RgbaImage {
    RgbaImage::from_fn(width, height, |x, _| {
        if x < width / 2 {
            Rgba([0, 0, 0, 0])
        } else {
            Rgba([0, 200, 0, 255])
        }
    })
}

/// `image` as PNG.
pub(crate) fn png(image: &RgbImage) -> Vec<u8> {
    encode(&DynamicImage::ImageRgb8(image.clone()), ImageFormat::Png)
}

/// `image` as JPEG.
pub(crate) fn jpeg(image: &RgbImage) -> Vec<u8> {
    encode(&DynamicImage::ImageRgb8(image.clone()), ImageFormat::Jpeg)
}

/// A 2x1 indexed PNG whose palette has a transparent entry: pixel 0 opaque red, pixel 1 transparent.
pub(crate) fn palette_png_with_transparency() -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, 2, 1);
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_palette(vec![255, 0, 0, 0, 0, 255]);
    encoder.set_trns(vec![255, 0]);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&[0, 1]).unwrap();
    writer.finish().unwrap();
    bytes
}

/// A 3x2 two-frame animated GIF: a red frame, then a blue one.
pub(crate) fn two_frame_gif() -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut bytes);
        let frames = [Rgba([255, 0, 0, 255]), Rgba([0, 0, 255, 255])].map(|colour| {
            Frame::from_parts(
                RgbaImage::from_pixel(3, 2, colour),
                0,
                0,
                Delay::from_numer_denom_ms(100, 1),
            )
        });
        encoder.encode_frames(frames).unwrap();
    }
    bytes
}
