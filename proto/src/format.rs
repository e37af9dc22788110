//! Names and MIME types of the contract's enums, shared by the HTTP API, the engine and the job documents.

use crate::v1::{Fit, ImageFormat, JobStatus};

impl ImageFormat {
    /// The MIME type of an encoded image of this format.
    #[must_use]
    pub fn mime_type(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::Webp => "image/webp",
            ImageFormat::Gif => "image/gif",
            ImageFormat::Bmp => "image/bmp",
            ImageFormat::Tiff => "image/tiff",
            ImageFormat::Unspecified => "application/octet-stream",
        }
    }

    /// The short lowercase name used in the API (`jpeg`, `png`, …) and as a file extension.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Png => "png",
            ImageFormat::Webp => "webp",
            ImageFormat::Gif => "gif",
            ImageFormat::Bmp => "bmp",
            ImageFormat::Tiff => "tiff",
            ImageFormat::Unspecified => "unspecified",
        }
    }

    /// Parses an API name (`jpeg`/`jpg`, `png`, `webp`, …), case-insensitively.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "jpeg" | "jpg" => ImageFormat::Jpeg,
            "png" => ImageFormat::Png,
            "webp" => ImageFormat::Webp,
            "gif" => ImageFormat::Gif,
            "bmp" => ImageFormat::Bmp,
            "tiff" | "tif" => ImageFormat::Tiff,
            _ => return None,
        })
    }

    /// Whether imagepipe can write this format as an output.
    #[must_use]
    pub fn is_writable(self) -> bool {
        matches!(
            self,
            ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Webp
        )
    }
}

impl Fit {
    /// The API name: `contain`, `cover` or `fill`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Fit::Unspecified | Fit::Contain => "contain",
            Fit::Cover => "cover",
            Fit::Fill => "fill",
        }
    }

    /// Parses an API name, case-insensitively.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "contain" => Fit::Contain,
            "cover" => Fit::Cover,
            "fill" => Fit::Fill,
            _ => return None,
        })
    }
}

impl JobStatus {
    /// The API name: `queued`, `processing`, `done` or `failed`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            JobStatus::Unspecified | JobStatus::Queued => "queued",
            JobStatus::Processing => "processing",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }

    /// Parses an API name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "queued" => JobStatus::Queued,
            "processing" => JobStatus::Processing,
            "done" => JobStatus::Done,
            "failed" => JobStatus::Failed,
            _ => return None,
        })
    }

    /// Whether the job has ended (done or failed).
    #[must_use]
    pub fn is_final(self) -> bool {
        matches!(self, JobStatus::Done | JobStatus::Failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for format in [
            ImageFormat::Jpeg,
            ImageFormat::Png,
            ImageFormat::Webp,
            ImageFormat::Gif,
            ImageFormat::Bmp,
            ImageFormat::Tiff,
        ] {
            assert_eq!(ImageFormat::from_name(format.name()), Some(format));
        }
        for fit in [Fit::Contain, Fit::Cover, Fit::Fill] {
            assert_eq!(Fit::from_name(fit.name()), Some(fit));
        }
        for status in [
            JobStatus::Queued,
            JobStatus::Processing,
            JobStatus::Done,
            JobStatus::Failed,
        ] {
            assert_eq!(JobStatus::from_name(status.name()), Some(status));
        }
    }

    #[test]
    fn aliases_and_case() {
        assert_eq!(ImageFormat::from_name("JPG"), Some(ImageFormat::Jpeg));
        assert_eq!(Fit::from_name("Cover"), Some(Fit::Cover));
        assert_eq!(ImageFormat::from_name("svg"), None);
    }

    #[test]
    fn only_jpeg_png_webp_are_writable() {
        assert!(ImageFormat::Png.is_writable());
        assert!(!ImageFormat::Gif.is_writable());
        assert_eq!(ImageFormat::Webp.mime_type(), "image/webp");
    }
}
