//! Fuzzes the whole engine: arbitrary bytes through `transform` or `transform_variants` (decode, orient,
//! operations, resize, watermark, encode). The first byte picks the spec and the entry point; the rest is
//! the image. The engine may refuse the bytes with any error, but must not panic, hang or run out of memory,
//! and what it makes must be what it says it made.
//!
//! The limits are small (4 MP, 4096 per side, 1 MiB) so each run stays fast; the checks are the engine's,
//! whatever the numbers.

#![no_main]

use imagepipe_proto::v1::{
    Fit, Flip, Gravity, ImageFormat, Output, TransformSpec, Variant, Watermark, watermark::Mark,
};
use imagepipe_engine::{self as engine, Limits};
use libfuzzer_sys::fuzz_target;

/// The specs the first byte chooses from: small results, every fit and output format, and the operations.
fn specs() -> [TransformSpec; 8] {
    let sized =
        |width: Option<u32>, height: Option<u32>, fit: Fit, format: ImageFormat| TransformSpec {
            width,
            height,
            fit: fit as i32,
            format: format as i32,
            ..TransformSpec::default()
        };
    [
        // The source size, the input's format where writable.
        TransformSpec::default(),
        sized(Some(64), None, Fit::Contain, ImageFormat::Jpeg),
        sized(Some(40), Some(40), Fit::Cover, ImageFormat::Webp),
        sized(None, Some(48), Fit::Contain, ImageFormat::Png),
        sized(Some(33), Some(17), Fit::Fill, ImageFormat::Jpeg),
        TransformSpec {
            lossless: true,
            ..sized(Some(24), Some(24), Fit::Inside, ImageFormat::Webp)
        },
        TransformSpec {
            gravity: Gravity::NorthEast as i32,
            rotate: 90,
            flip: Flip::Horizontal as i32,
            grayscale: true,
            blur: Some(1.5),
            sharpen: Some(0.8),
            progressive: true,
            background: Some(0x336699),
            ..sized(Some(50), Some(30), Fit::Cover, ImageFormat::Jpeg)
        },
        TransformSpec {
            watermark: Some(Watermark {
                mark: Some(Mark::Text("imagepipe".into())),
                ..Watermark::default()
            }),
            ..sized(Some(96), None, Fit::Contain, ImageFormat::Png)
        },
    ]
}

/// The engine's output must describe itself truthfully.
fn check(output: &Output) {
    let info = output.info.expect("every output has its info");
    assert_eq!(info.bytes, output.data.len() as u64, "reported size");
    assert!(info.width >= 1 && info.height >= 1, "empty result {info:?}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, image)) = data.split_first() else {
        return;
    };
    let limits = Limits::new(4_000_000)
        .with_max_dimension(4096)
        .with_max_input_bytes(1 << 20);
    let specs = specs();
    let spec = &specs[usize::from(selector) % specs.len()];
    if selector & 0x80 == 0 {
        if let Ok(transformed) = engine::transform(image, spec, &limits) {
            assert_eq!(transformed.outputs.len(), 1, "one output");
            transformed.outputs.iter().for_each(check);
        }
    } else {
        // Two outputs from one decode: the chosen spec and the next one.
        let next = &specs[(usize::from(selector) + 1) % specs.len()];
        let variants = [
            Variant {
                name: "a".into(),
                spec: Some(spec.clone()),
            },
            Variant {
                name: "b".into(),
                spec: Some(next.clone()),
            },
        ];
        if let Ok(transformed) = engine::transform_variants(image, &variants, &limits) {
            assert_eq!(transformed.outputs.len(), 2, "one output per variant");
            transformed.outputs.iter().for_each(check);
        }
    }
});
