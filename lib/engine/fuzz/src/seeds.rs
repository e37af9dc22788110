//! Writes the seed corpus of the `transform` target: one small file per format and layout the engine reads,
//! each prefixed with the spec-selector byte the target reads first. `cargo run --bin seeds -- DIR`.

use std::path::PathBuf;

use image::{
    DynamicImage, GrayImage, ImageBuffer, ImageFormat, Luma, LumaA, Rgb, RgbImage, Rgba, RgbaImage,
};
use imagepipe_proto::v1::{ImageFormat as OutputFormat, TransformSpec};
use imagepipe_engine::{self as engine, Limits};
use samples::encode;

/// The awkward-input suite's generators (EXIF-tagged and CMYK JPEGs, palette PNG, GIF, WebP): the seeds reuse
/// some of them.
#[allow(dead_code)]
#[path = "../../tests/awkward/samples.rs"]
mod samples;

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

/// `image` made by the engine itself (lossy WebP and progressive JPEG, which the `image` crate cannot write).
fn by_engine(png: &[u8], format: OutputFormat, progressive: bool) -> Vec<u8> {
    let spec = TransformSpec {
        format: format as i32,
        progressive,
        ..TransformSpec::default()
    };
    engine::transform(png, &spec, &Limits::default())
        .expect("the engine encodes a seed")
        .outputs[0]
        .data
        .to_vec()
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
        ("palette.png", samples::palette_png_with_transparency()),
        ("rgb.jpg", jpeg.clone()),
        ("exif6.jpg", samples::with_exif_orientation(&jpeg, 6)),
        ("cmyk.jpg", samples::cmyk_jpeg()),
        (
            "gray.jpg",
            encode(&DynamicImage::ImageLuma8(gray.clone()), ImageFormat::Jpeg),
        ),
        ("progressive.jpg", by_engine(&png, OutputFormat::Jpeg, true)),
        ("lossy.webp", by_engine(&png, OutputFormat::Webp, false)),
        ("lossless.webp", samples::lossless_webp()),
        ("two-frames.gif", samples::two_frame_gif()),
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
