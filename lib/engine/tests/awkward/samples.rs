//! The awkward inputs, generated in memory: real encoders for the images, hand-made bytes for what no
//! encoder writes (CMYK JPEG, bomb headers, foreign signatures).

use std::io::Cursor;

use image::{
    Delay, DynamicImage, Frame, GrayImage, ImageBuffer, ImageFormat, Luma, Rgb, RgbImage, Rgba,
    RgbaImage,
    codecs::{gif::GifEncoder, webp::WebPEncoder},
};

/// Red, the marker colour of the orientation and first-frame checks.
pub const RED: [u8; 3] = [255, 0, 0];

/// `image` encoded as `format` by the `image` crate.
pub fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, format).unwrap();
    bytes.into_inner()
}

/// A `width` x `height` RGB gradient.
pub fn gradient(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, 96])
    }))
}

/// A 48x32 grey image whose top-left 24x16 quadrant is red: where the red ends up shows the orientation.
pub fn red_corner() -> RgbImage {
    RgbImage::from_fn(48, 32, |x, y| {
        if x < 24 && y < 16 {
            Rgb(RED)
        } else {
            Rgb([128, 128, 128])
        }
    })
}

/// `jpeg` with an EXIF APP1 segment (big-endian TIFF, one IFD entry: Orientation = `orientation`) right
/// after SOI, as a camera writes it.
pub fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
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

/// A hand-made 8x8 baseline JPEG with four components (CMYK, as print workflows write them): every block
/// is DC 0, i.e. every ink at half. One-code Huffman tables keep the scan to one byte.
pub fn cmyk_jpeg() -> Vec<u8> {
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

/// A 24x12 16-bit RGB PNG: full red on the left half, full blue on the right.
pub fn png_rgb16() -> Vec<u8> {
    let image: ImageBuffer<Rgb<u16>, Vec<u16>> = ImageBuffer::from_fn(24, 12, |x, _| {
        if x < 12 {
            Rgb([u16::MAX, 0, 0])
        } else {
            Rgb([0, 0, u16::MAX])
        }
    });
    encode(&DynamicImage::ImageRgb16(image), ImageFormat::Png)
}

/// A 20x10 16-bit greyscale PNG at 0x8080 (128 in 8 bits).
pub fn png_gray16() -> Vec<u8> {
    let image: ImageBuffer<Luma<u16>, Vec<u16>> = ImageBuffer::from_pixel(20, 10, Luma([0x8080]));
    encode(&DynamicImage::ImageLuma16(image), ImageFormat::Png)
}

/// A 16x8 indexed PNG with a transparent palette entry: the left half opaque red, the right half transparent.
pub fn palette_png_with_transparency() -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, 16, 8);
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_palette(vec![255, 0, 0, 0, 0, 0]);
    encoder.set_trns(vec![255, 0]);
    let mut writer = encoder.write_header().unwrap();
    let indices: Vec<u8> = (0..8)
        .flat_map(|_| (0..16).map(|x| u8::from(x >= 8)))
        .collect();
    writer.write_image_data(&indices).unwrap();
    writer.finish().unwrap();
    bytes
}

/// A 16x8 two-frame animated GIF: a red frame, then a blue one.
pub fn two_frame_gif() -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut bytes);
        let frames = [Rgba([255, 0, 0, 255]), Rgba([0, 0, 255, 255])].map(|colour| {
            Frame::from_parts(
                RgbaImage::from_pixel(16, 8, colour),
                0,
                0,
                Delay::from_numer_denom_ms(100, 1),
            )
        });
        encoder.encode_frames(frames).unwrap();
    }
    bytes
}

/// A 20x10 lossless WebP (VP8L), the left half opaque green, the right half transparent.
pub fn lossless_webp() -> Vec<u8> {
    let image = RgbaImage::from_fn(20, 10, |x, _| {
        if x < 10 {
            Rgba([0, 200, 0, 255])
        } else {
            Rgba([0, 0, 0, 0])
        }
    });
    let mut bytes = Vec::new();
    WebPEncoder::new_lossless(&mut bytes)
        .encode(image.as_raw(), 20, 10, image::ExtendedColorType::Rgba8)
        .unwrap();
    assert_eq!(&bytes[12..16], b"VP8L", "lossless");
    bytes
}

/// A 40x24 greyscale JPEG (one component).
pub fn gray_jpeg() -> Vec<u8> {
    let image = GrayImage::from_fn(40, 24, |x, _| Luma([(x * 6) as u8]));
    encode(&DynamicImage::ImageLuma8(image), ImageFormat::Jpeg)
}

/// A 16x16 ICO holding a PNG, as modern icons do: an image format the engine does not read.
pub fn ico() -> Vec<u8> {
    let png = encode(&gradient(16, 16), ImageFormat::Png);
    let mut bytes = vec![0, 0, 1, 0, 1, 0]; // reserved, type 1 (icon), one image
    bytes.extend_from_slice(&[16, 16, 0, 0, 1, 0, 32, 0]); // 16x16, no palette, 1 plane, 32 bpp
    bytes.extend_from_slice(&u32::try_from(png.len()).unwrap().to_le_bytes());
    bytes.extend_from_slice(&22u32.to_le_bytes()); // the PNG follows the 6 + 16 byte directory
    bytes.extend_from_slice(&png);
    bytes
}

/// The start of an AVIF file: its `ftyp` box, which is all the engine needs to recognise (and refuse) it.
pub fn avif_signature() -> Vec<u8> {
    let mut bytes = vec![0, 0, 0, 0x1C];
    bytes.extend_from_slice(b"ftypavif\0\0\0\0avifmif1miafMA1B");
    bytes
}

/// A PNG whose header claims `width` x `height` RGBA pixels, followed by no pixel data at all.
pub fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgba);
    // Dropping the writer ends the file (IEND) without a single IDAT chunk.
    drop(encoder.write_header().unwrap());
    bytes
}

/// A real 16x16 JPEG whose frame header is rewritten to claim `width` x `height`.
pub fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut jpeg = encode(&gradient(16, 16), ImageFormat::Jpeg);
    let sof = jpeg
        .windows(2)
        .position(|marker| marker == [0xFF, 0xC0])
        .expect("a baseline frame header");
    jpeg[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    jpeg
}

/// A GIF whose logical screen is `width` x `height`, with no frames.
pub fn gif_screen(width: u16, height: u16) -> Vec<u8> {
    let mut bytes = b"GIF89a".to_vec();
    bytes.extend_from_slice(&width.to_le_bytes());
    bytes.extend_from_slice(&height.to_le_bytes());
    bytes.extend_from_slice(&[0x00, 0x00, 0x00]); // no global palette, background 0, no aspect ratio
    bytes.push(0x3B); // trailer
    bytes
}

/// A GIF with a 1x1 screen and one 65535x65535 frame: the header check passes, the frame must not.
pub fn gif_frame_larger_than_its_screen() -> Vec<u8> {
    let mut bytes = gif_screen(1, 1);
    bytes.pop(); // the trailer goes after the frame
    // Image descriptor: at 0,0, 65535x65535, a local palette of two colours.
    bytes.extend_from_slice(&[0x2C, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x80]);
    bytes.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
    // LZW minimum code size 2; one sub-block: clear code, end code.
    bytes.extend_from_slice(&[0x02, 0x02, 0x44, 0x01, 0x00]);
    bytes.push(0x3B);
    bytes
}

/// A PNG of `width` x `height` with one byte of its image data flipped (its checksum no longer matches).
pub fn corrupt_png(width: u32, height: u32) -> Vec<u8> {
    let mut png = encode(&gradient(width, height), ImageFormat::Png);
    let idat = png
        .windows(4)
        .position(|tag| tag == b"IDAT")
        .expect("an IDAT chunk");
    png[idat + 10] ^= 0xFF;
    png
}

/// `bytes` cut to `numerator`/`denominator` of their length.
pub fn truncated(bytes: &[u8], numerator: usize, denominator: usize) -> Vec<u8> {
    bytes[..bytes.len() * numerator / denominator].to_vec()
}
