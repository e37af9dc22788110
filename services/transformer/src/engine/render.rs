//! One output from a decoded image: plan the size, resample, encode. The job-level [`super::transform`]
//! decodes once and calls [`render`] for each variant.

use image::GenericImageView;
use imagepipe_proto::v1::{ImageFormat, ImageInfo, Output};

use super::{decode::Decoded, encode, geometry, limits::Limits, request::Request, resize};
use crate::EngineError;

/// The smallest size the upright `source` may be decoded at and still give `request`'s result by scaling
/// down only (the source size when the request cannot be planned: the error comes again from [`render`]).
pub(crate) fn min_decode_size(
    request: &Request,
    source: (u32, u32),
    limits: &Limits,
) -> (u32, u32) {
    geometry::plan(source, request, limits).map_or(source, |plan| plan.min_decode_size(source))
}

/// `decoded` made into the output `name` as `request` asks.
///
/// The output format is the request's when set, else the input's when it can be written (JPEG, PNG, WebP),
/// else JPEG.
///
/// # Errors
/// `too_large` for a result over the limits, `encode_failed` when the encoder refuses it.
pub(crate) fn render(
    decoded: &Decoded,
    request: &Request,
    name: &str,
    limits: &Limits,
) -> Result<Output, EngineError> {
    let format = request.format.unwrap_or(if decoded.format.is_writable() {
        decoded.format
    } else {
        ImageFormat::Jpeg
    });
    let plan = geometry::plan(decoded.source, request, limits)?;
    let image = if plan.keeps_size(decoded.image.dimensions()) {
        decoded.image.clone()
    } else {
        resize::resize(&decoded.image, &plan)?
    };
    let (width, height) = image.dimensions();
    let data = encode::encode(image, format, request.quality)?;
    Ok(Output {
        name: name.to_owned(),
        info: Some(ImageInfo {
            format: format as i32,
            width,
            height,
            bytes: data.len() as u64,
        }),
        data: data.into(),
    })
}
