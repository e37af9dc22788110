//! The `convert` subcommand's flags.

use std::path::PathBuf;

use imagepipe_proto::{
    options, spec,
    v1::{TransformSpec, Variant},
};

use imagepipe_engine::{
    DEFAULT_MAX_DIMENSION, DEFAULT_MAX_INPUT_BYTES, DEFAULT_MAX_PIXELS, Limits,
};

use crate::presets::{DEFAULT_PRESETS, Presets};

/// Transform image files with the engine, without a broker: `convert --width 256 --out-dir out a.jpg b.png`.
///
/// The transform options take the same names and values as the HTTP API (`--fit inside`, `--gravity north-east`,
/// `--background ff8800`, `--variants thumb:256x256,wide:800w.webp`, …) and are checked by the same code.
#[derive(Debug, Clone, clap::Args)]
pub struct ConvertArgs {
    /// Target width in pixels (1..=16384); alone, the height follows the aspect ratio.
    #[arg(long)]
    pub width: Option<String>,
    /// Target height in pixels (1..=16384); alone, the width follows the aspect ratio.
    #[arg(long)]
    pub height: Option<String>,
    /// How to fit a width x height box: contain, cover, fill or inside (never enlarge).
    #[arg(long)]
    pub fit: Option<String>,
    /// Which part a `cover` crop keeps: center, north, south, east, west, north-east, … .
    #[arg(long)]
    pub gravity: Option<String>,
    /// Output format: jpeg, png or webp; default: the input's when writable, else jpeg.
    #[arg(long)]
    pub format: Option<String>,
    /// Encoder quality 1..=100 (JPEG default 85; WebP default 80 lossy, 100 lossless).
    #[arg(long)]
    pub quality: Option<String>,
    /// Write progressive JPEGs.
    #[arg(long)]
    pub progressive: bool,
    /// Write lossless WebP.
    #[arg(long)]
    pub lossless: bool,
    /// Colour (RRGGBB) transparent pixels are flattened onto for JPEG; default white.
    #[arg(long)]
    pub background: Option<String>,
    /// Clockwise rotation after the EXIF orientation: 0, 90, 180 or 270.
    #[arg(long)]
    pub rotate: Option<String>,
    /// Mirror: horizontal, vertical or both.
    #[arg(long)]
    pub flip: Option<String>,
    /// Convert to shades of grey.
    #[arg(long)]
    pub grayscale: bool,
    /// Gaussian blur sigma in pixels (0.1..=100).
    #[arg(long)]
    pub blur: Option<String>,
    /// Unsharp-mask sigma in pixels (0.1..=10).
    #[arg(long)]
    pub sharpen: Option<String>,
    /// Watermark text.
    #[arg(long, conflicts_with = "watermark_image")]
    pub watermark: Option<String>,
    /// Watermark image file (PNG with alpha works best).
    #[arg(long)]
    pub watermark_image: Option<PathBuf>,
    /// Watermark position: a gravity (default south-east).
    #[arg(long)]
    pub watermark_position: Option<String>,
    /// Watermark opacity 0..=1 (default 0.5).
    #[arg(long)]
    pub watermark_opacity: Option<String>,
    /// Watermark margin in pixels (default 2% of the shorter side).
    #[arg(long)]
    pub watermark_margin: Option<String>,
    /// Watermark size relative to the result (text height / shorter side, default 0.05; image width / width,
    /// default 0.25).
    #[arg(long)]
    pub watermark_scale: Option<String>,
    /// Watermark text colour RRGGBB (default ffffff).
    #[arg(long)]
    pub watermark_color: Option<String>,
    /// Named outputs, each written as `<stem>.<name>.<format>`: `thumb:256x256,wide:800w.webp,medium` (a bare
    /// name is a preset) or a JSON list; the other options are every variant's starting point.
    #[arg(long)]
    pub variants: Option<String>,
    /// The presets bare variant names refer to (same syntax as the service's `TRANSFORMER_PRESETS`).
    #[arg(long, default_value = DEFAULT_PRESETS, value_parser = Presets::parse)]
    pub presets: Presets,
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

/// What to make of every input: the spec, and the variants with presets resolved (empty: one output).
#[derive(Debug, Clone, PartialEq)]
pub struct ConvertJob {
    /// The spec of the single output, and the starting point of compact variants.
    pub spec: TransformSpec,
    /// The named outputs.
    pub variants: Vec<Variant>,
}

impl ConvertArgs {
    /// The job these flags describe, checked as the HTTP API checks it; reads the watermark image file.
    ///
    /// # Errors
    /// A message naming the bad option or the unreadable watermark file.
    pub fn job(&self) -> Result<ConvertJob, String> {
        let mut spec = TransformSpec::default();
        let text_options = [
            ("width", &self.width),
            ("height", &self.height),
            ("fit", &self.fit),
            ("gravity", &self.gravity),
            ("format", &self.format),
            ("quality", &self.quality),
            ("background", &self.background),
            ("rotate", &self.rotate),
            ("flip", &self.flip),
            ("blur", &self.blur),
            ("sharpen", &self.sharpen),
            ("watermark", &self.watermark),
            ("watermark_position", &self.watermark_position),
            ("watermark_opacity", &self.watermark_opacity),
            ("watermark_margin", &self.watermark_margin),
            ("watermark_scale", &self.watermark_scale),
            ("watermark_color", &self.watermark_color),
        ];
        for (name, value) in text_options {
            if let Some(value) = value {
                options::set(&mut spec, name, value).map_err(|error| error.0)?;
            }
        }
        spec.progressive = self.progressive;
        spec.lossless = self.lossless;
        spec.grayscale = self.grayscale;
        if let Some(path) = &self.watermark_image {
            let image = std::fs::read(path).map_err(|error| {
                format!(
                    "cannot read the watermark image {}: {error}",
                    path.display()
                )
            })?;
            options::set_watermark_image(&mut spec, image.into());
        }
        options::drop_idle_watermark(&mut spec);
        spec::check(&spec).map_err(|error| error.0)?;
        let variants = match &self.variants {
            Some(text) => options::parse_variants(text, &spec).map_err(|error| error.0)?,
            None => Vec::new(),
        };
        let variants = self
            .presets
            .resolve(&variants)
            .map_err(|error| error.to_string())?;
        Ok(ConvertJob { spec, variants })
    }

    /// The engine limits these flags describe.
    #[must_use]
    pub fn limits(&self) -> Limits {
        Limits::new(self.max_pixels)
            .with_max_input_bytes(self.max_input_bytes)
            .with_max_dimension(self.max_dimension)
    }
}
