//! The `convert` subcommand's flags.

use std::path::PathBuf;

use imagepipe_proto::v1::{Fit, ImageFormat, TransformSpec};

use crate::engine::{DEFAULT_MAX_DIMENSION, DEFAULT_MAX_INPUT_BYTES, DEFAULT_MAX_PIXELS, Limits};

/// Transform image files with the engine, without a broker: `convert --width 256 --out-dir out a.jpg b.png`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConvertArgs {
    /// Target width in pixels (1..=16384); alone, the height follows the aspect ratio.
    #[arg(long)]
    pub width: Option<u32>,
    /// Target height in pixels (1..=16384); alone, the width follows the aspect ratio.
    #[arg(long)]
    pub height: Option<u32>,
    /// How to fit a width x height box: contain, cover or fill.
    #[arg(long, default_value = "contain", value_parser = parse_fit)]
    pub fit: Fit,
    /// Output format: jpeg, png or webp; default: the input's when writable, else jpeg.
    #[arg(long, value_parser = parse_format)]
    pub format: Option<ImageFormat>,
    /// Encoder quality 1..=100 (JPEG default 85; WebP default 80 lossy, 100 lossless).
    #[arg(long)]
    pub quality: Option<u32>,
    /// Files converted at once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: u16,
    /// Most pixels an input or result may have (inputs from their header, before decoding).
    #[arg(
        long,
        default_value_t = DEFAULT_MAX_PIXELS,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub max_pixels: u64,
    /// Most bytes an input file may have.
    #[arg(
        long,
        default_value_t = DEFAULT_MAX_INPUT_BYTES,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub max_input_bytes: u64,
    /// Most pixels per side an input may have (from its header).
    #[arg(
        long,
        default_value_t = DEFAULT_MAX_DIMENSION,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_dimension: u32,
    /// Where `<input stem>.<format>` files are written (created if missing).
    #[arg(long)]
    pub out_dir: PathBuf,
    /// The images to convert.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

impl ConvertArgs {
    /// The transform spec these flags describe (checked by the engine, not here).
    #[must_use]
    pub fn spec(&self) -> TransformSpec {
        TransformSpec {
            width: self.width,
            height: self.height,
            fit: self.fit as i32,
            format: self
                .format
                .map_or(ImageFormat::Unspecified as i32, |f| f as i32),
            quality: self.quality,
            ..TransformSpec::default()
        }
    }

    /// The engine limits these flags describe.
    #[must_use]
    pub fn limits(&self) -> Limits {
        Limits::new(self.max_pixels)
            .with_max_input_bytes(self.max_input_bytes)
            .with_max_dimension(self.max_dimension)
    }
}

fn parse_fit(name: &str) -> Result<Fit, String> {
    Fit::from_name(name).ok_or_else(|| format!("unknown fit {name:?}; use contain, cover or fill"))
}

fn parse_format(name: &str) -> Result<ImageFormat, String> {
    ImageFormat::from_name(name)
        .filter(|format| format.is_writable())
        .ok_or_else(|| format!("cannot write {name:?}; use jpeg, png or webp"))
}
