//! Images generated for the engine's unit tests: encoded in memory, never read from disk.

use std::io::Cursor;

use image::{
    Delay, DynamicImage, Frame, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage,
    codecs::gif::GifEncoder,
};

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

/// `image` encoded as `format`.
pub(crate) fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, format).unwrap();
    bytes.into_inner()
}

/// `image` as PNG.
pub(crate) fn png(image: &RgbImage) -> Vec<u8> {
    encode(&DynamicImage::ImageRgb8(image.clone()), ImageFormat::Png)
}

/// `image` as JPEG.
pub(crate) fn jpeg(image: &RgbImage) -> Vec<u8> {
    encode(&DynamicImage::ImageRgb8(image.clone()), ImageFormat::Jpeg)
}

/// `jpeg` with an EXIF APP1 segment (big-endian TIFF, one IFD entry: Orientation = `orientation`) inserted
/// right after SOI, as a camera writes it.
pub(crate) fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "not a JPEG");
    let mut exif = b"Exif\0\0".to_vec();
    exif.extend_from_slice(b"MM\0\x2A\0\0\0\x08"); // TIFF header, IFD0 at offset 8
    exif.extend_from_slice(&1u16.to_be_bytes()); // one entry
    exif.extend_from_slice(&0x0112u16.to_be_bytes()); // tag: Orientation
    exif.extend_from_slice(&3u16.to_be_bytes()); // type: SHORT
    exif.extend_from_slice(&1u32.to_be_bytes()); // count
    exif.extend_from_slice(&orientation.to_be_bytes());
    exif.extend_from_slice(&[0, 0]); // value padding
    exif.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let length = u16::try_from(exif.len() + 2).unwrap();
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&exif);
    out.extend_from_slice(&jpeg[2..]);
    out
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

/// A hand-made 8x8 baseline JPEG with four components (CMYK, as print workflows and Photoshop write them):
/// every block is DC 0, i.e. every channel at mid level. One-code Huffman tables keep the scan to one byte.
pub(crate) fn cmyk_jpeg() -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8];
    // DQT: table 0, all ones.
    bytes.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x43, 0x00]);
    bytes.extend_from_slice(&[1; 64]);
    // SOF0: 8-bit, 8x8, four components, no subsampling, quantisation table 0.
    bytes.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x14, 0x08, 0x00, 0x08, 0x00, 0x08, 0x04]);
    for id in 1..=4 {
        bytes.extend_from_slice(&[id, 0x11, 0x00]);
    }
    // DHT: DC table 0 and AC table 0, each a single 1-bit code ("0") for symbol 0 (DC: category 0; AC: EOB).
    for class in [0x00, 0x10] {
        bytes.extend_from_slice(&[0xFF, 0xC4, 0x00, 0x14, class, 1]);
        bytes.extend_from_slice(&[0; 15]);
        bytes.push(0x00);
    }
    // SOS: four components on tables 0/0, full spectrum.
    bytes.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x0E, 0x04]);
    for id in 1..=4 {
        bytes.extend_from_slice(&[id, 0x00]);
    }
    bytes.extend_from_slice(&[0x00, 0x3F, 0x00]);
    // Scan: four blocks of "DC category 0, EOB" = eight zero bits.
    bytes.push(0x00);
    bytes.extend_from_slice(&[0xFF, 0xD9]);
    bytes
}
