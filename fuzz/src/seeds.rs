//! Writes the seed corpus of the `transform` target: one small file per format and layout the engine reads,
//! each prefixed with the spec-selector byte the target reads first. `cargo run --bin seeds -- DIR`.

use std::{io::Cursor, path::PathBuf};

use image::{
    Delay, DynamicImage, Frame, GrayImage, ImageBuffer, ImageFormat, Luma, LumaA, Rgb, RgbImage,
    Rgba, RgbaImage,
    codecs::{gif::GifEncoder, webp::WebPEncoder},
};
use imagepipe_proto::v1::{ImageFormat as OutputFormat, TransformSpec};
use imagepipe_transformer::engine::{self, Limits};

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).expect("usage: seeds DIR"));
    std::fs::create_dir_all(&dir).expect("create the corpus directory");
    let seeds = seeds();
    for (index, (name, bytes)) in seeds.iter().enumerate() {
        // Spread the seeds over the specs and both entry points.
        let selector = u8::try_from(index * 37 % 256).expect("below 256");
        let mut seed = vec![selector];
        seed.extend_from_slice(bytes);
        std::fs::write(dir.join(name), seed).expect("write a seed");
    }
    println!("{} seeds in {}", seeds.len(), dir.display());
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, format).expect("encode a seed");
    bytes.into_inner()
}

/// `image` made by the engine itself (lossy WebP and progressive JPEG, which the `image` crate cannot write).
fn by_engine(png: &[u8], format: OutputFormat, progressive: bool) -> Vec<u8> {
    let spec = TransformSpec {
        format: format as i32,
        progressive,
        ..TransformSpec::default()
    };
    engine::transform(png, &spec, &Limits::default())
        .expect("the engine encodes a seed")
        .data
        .to_vec()
}

/// `jpeg` with an EXIF APP1 segment whose one IFD entry is Orientation = `orientation`.
fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut exif = b"Exif\0\0MM\0\x2A\0\0\0\x08".to_vec();
    exif.extend_from_slice(&1u16.to_be_bytes());
    exif.extend_from_slice(&0x0112u16.to_be_bytes());
    exif.extend_from_slice(&3u16.to_be_bytes());
    exif.extend_from_slice(&1u32.to_be_bytes());
    exif.extend_from_slice(&orientation.to_be_bytes());
    exif.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let length = u16::try_from(exif.len() + 2).expect("a short segment");
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&exif);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A 2x2 indexed PNG with a transparent palette entry.
fn palette_png() -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, 2, 2);
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_palette(vec![255, 0, 0, 0, 0, 255]);
    encoder.set_trns(vec![255, 0]);
    let mut writer = encoder.write_header().expect("a PNG header");
    writer.write_image_data(&[0, 1, 1, 0]).expect("PNG data");
    writer.finish().expect("a PNG");
    bytes
}

/// A hand-made 8x8 baseline CMYK JPEG: four components, every block DC 0, one-code Huffman tables.
fn cmyk_jpeg() -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x43, 0x00];
    bytes.extend_from_slice(&[1; 64]);
    bytes.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x14, 0x08, 0x00, 0x08, 0x00, 0x08, 0x04]);
    for id in 1..=4 {
        bytes.extend_from_slice(&[id, 0x11, 0x00]);
    }
    for class in [0x00, 0x10] {
        bytes.extend_from_slice(&[0xFF, 0xC4, 0x00, 0x14, class, 1]);
        bytes.extend_from_slice(&[0; 16]);
    }
    bytes.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x0E, 0x04]);
    for id in 1..=4 {
        bytes.extend_from_slice(&[id, 0x00]);
    }
    bytes.extend_from_slice(&[0x00, 0x3F, 0x00, 0x00, 0xFF, 0xD9]);
    bytes
}

fn two_frame_gif() -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut bytes);
        let frames = [Rgba([255, 0, 0, 255]), Rgba([0, 0, 255, 0])].map(|colour| {
            Frame::from_parts(
                RgbaImage::from_pixel(6, 4, colour),
                0,
                0,
                Delay::from_numer_denom_ms(10, 1),
            )
        });
        encoder.encode_frames(frames).expect("a GIF");
    }
    bytes
}

fn lossless_webp(image: &RgbaImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    WebPEncoder::new_lossless(&mut bytes)
        .encode(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgba8,
        )
        .expect("a lossless WebP");
    bytes
}

fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let rgb = RgbImage::from_fn(16, 12, |x, y| Rgb([(x * 16) as u8, (y * 20) as u8, 90]));
    let rgba = RgbaImage::from_fn(12, 8, |x, y| {
        Rgba([(x * 20) as u8, 200, (y * 30) as u8, (x * 21) as u8])
    });
    let gray = GrayImage::from_fn(10, 6, |x, y| Luma([(x * 25 + y) as u8]));
    let rgb16: ImageBuffer<Rgb<u16>, Vec<u16>> = ImageBuffer::from_fn(8, 6, |x, y| {
        Rgb([(x * 8000) as u16, (y * 9000) as u16, 40_000])
    });
    let gray_alpha = ImageBuffer::from_fn(6, 6, |x, y| LumaA([(x * 40) as u8, (y * 40) as u8]));
    let png = encode(&DynamicImage::ImageRgb8(rgb.clone()), ImageFormat::Png);
    let jpeg = encode(&DynamicImage::ImageRgb8(rgb.clone()), ImageFormat::Jpeg);
    vec![
        ("rgb.png", png.clone()),
        (
            "rgba.png",
            encode(&DynamicImage::ImageRgba8(rgba.clone()), ImageFormat::Png),
        ),
        (
            "rgb16.png",
            encode(&DynamicImage::ImageRgb16(rgb16), ImageFormat::Png),
        ),
        (
            "gray-alpha.png",
            encode(&DynamicImage::ImageLumaA8(gray_alpha), ImageFormat::Png),
        ),
        ("palette.png", palette_png()),
        ("rgb.jpg", jpeg.clone()),
        ("exif6.jpg", with_exif_orientation(&jpeg, 6)),
        ("cmyk.jpg", cmyk_jpeg()),
        (
            "gray.jpg",
            encode(&DynamicImage::ImageLuma8(gray.clone()), ImageFormat::Jpeg),
        ),
        ("progressive.jpg", by_engine(&png, OutputFormat::Jpeg, true)),
        ("lossy.webp", by_engine(&png, OutputFormat::Webp, false)),
        ("lossless.webp", lossless_webp(&rgba)),
        ("two-frames.gif", two_frame_gif()),
        (
            "rgb.bmp",
            encode(&DynamicImage::ImageRgb8(rgb.clone()), ImageFormat::Bmp),
        ),
        (
            "rgba.tiff",
            encode(&DynamicImage::ImageRgba8(rgba), ImageFormat::Tiff),
        ),
        (
            "gray.tiff",
            encode(&DynamicImage::ImageLuma8(gray), ImageFormat::Tiff),
        ),
    ]
}
