//! The `convert` subcommand's flags.

use std::path::PathBuf;

use imagepipe_proto::v1::{Fit, ImageFormat, TransformSpec};

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
    /// Most pixels an input or result may have.
    #[arg(long, default_value_t = crate::engine::DEFAULT_MAX_PIXELS)]
    pub max_pixels: u64,
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
}

fn parse_fit(name: &str) -> Result<Fit, String> {
    Fit::from_name(name).ok_or_else(|| format!("unknown fit {name:?}; use contain, cover or fill"))
}

fn parse_format(name: &str) -> Result<ImageFormat, String> {
    ImageFormat::from_name(name)
        .filter(|format| format.is_writable())
        .ok_or_else(|| format!("cannot write {name:?}; use jpeg, png or webp"))
}
