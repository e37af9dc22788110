//! Names and MIME types of the contract's enums, shared by the HTTP API, the engine and the job documents.

use crate::v1::{Fit, Flip, Gravity, ImageFormat, JobStatus, job_event};

impl ImageFormat {
    /// Every format imagepipe reads (the writable ones among them: [`ImageFormat::is_writable`]).
    pub const ALL: [ImageFormat; 6] = [
        ImageFormat::Jpeg,
        ImageFormat::Png,
        ImageFormat::Webp,
        ImageFormat::Gif,
        ImageFormat::Bmp,
        ImageFormat::Tiff,
    ];

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
    /// The API name: `contain`, `cover`, `fill` or `inside`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Fit::Unspecified | Fit::Contain => "contain",
            Fit::Cover => "cover",
            Fit::Fill => "fill",
            Fit::Inside => "inside",
        }
    }

    /// Parses an API name, case-insensitively.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "contain" => Fit::Contain,
            "cover" => Fit::Cover,
            "fill" => Fit::Fill,
            "inside" => Fit::Inside,
            _ => return None,
        })
    }
}

impl Gravity {
    /// Every anchor, for listing and tests.
    pub const ALL: [Gravity; 9] = [
        Gravity::Center,
        Gravity::North,
        Gravity::South,
        Gravity::East,
        Gravity::West,
        Gravity::NorthEast,
        Gravity::NorthWest,
        Gravity::SouthEast,
        Gravity::SouthWest,
    ];

    /// The API name: `center`, `north`, …, `south-west`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Gravity::Unspecified | Gravity::Center => "center",
            Gravity::North => "north",
            Gravity::South => "south",
            Gravity::East => "east",
            Gravity::West => "west",
            Gravity::NorthEast => "north-east",
            Gravity::NorthWest => "north-west",
            Gravity::SouthEast => "south-east",
            Gravity::SouthWest => "south-west",
        }
    }

    /// Parses an API name, case-insensitively; also `centre`, `northeast`/`north_east`/`ne` and the like.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        let name: String = name
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .collect::<String>()
            .to_ascii_lowercase();
        Some(match name.as_str() {
            "center" | "centre" | "c" => Gravity::Center,
            "north" | "n" | "top" => Gravity::North,
            "south" | "s" | "bottom" => Gravity::South,
            "east" | "e" | "right" => Gravity::East,
            "west" | "w" | "left" => Gravity::West,
            "northeast" | "ne" => Gravity::NorthEast,
            "northwest" | "nw" => Gravity::NorthWest,
            "southeast" | "se" => Gravity::SouthEast,
            "southwest" | "sw" => Gravity::SouthWest,
            _ => return None,
        })
    }

    /// Where a box of `inner` size sits in one of `outer` size under this anchor (`Unspecified`: centred),
    /// as fractions from 0 (left/top) to 1 (right/bottom).
    #[must_use]
    pub fn fractions(self) -> (f64, f64) {
        match self {
            Gravity::Unspecified | Gravity::Center => (0.5, 0.5),
            Gravity::North => (0.5, 0.0),
            Gravity::South => (0.5, 1.0),
            Gravity::East => (1.0, 0.5),
            Gravity::West => (0.0, 0.5),
            Gravity::NorthEast => (1.0, 0.0),
            Gravity::NorthWest => (0.0, 0.0),
            Gravity::SouthEast => (1.0, 1.0),
            Gravity::SouthWest => (0.0, 1.0),
        }
    }
}

impl Flip {
    /// The API name: `none`, `horizontal`, `vertical` or `both`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Flip::Unspecified => "none",
            Flip::Horizontal => "horizontal",
            Flip::Vertical => "vertical",
            Flip::Both => "both",
        }
    }

    /// Parses an API name, case-insensitively; also `h`, `v`, `x` (horizontal) and `y` (vertical).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "none" => Flip::Unspecified,
            "horizontal" | "h" | "x" => Flip::Horizontal,
            "vertical" | "v" | "y" => Flip::Vertical,
            "both" | "hv" | "xy" => Flip::Both,
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

impl job_event::Kind {
    /// Every kind a producer sends, in the order they happen to a job.
    pub const ALL: [Self; 6] = [
        Self::Accepted,
        Self::Started,
        Self::Done,
        Self::Failed,
        Self::Stored,
        Self::Deleted,
    ];

    /// The name in routing keys (`job.event.<name>`), the timeline and the history: `accepted`, `started`,
    /// `done`, `failed`, `stored`, `deleted` (and `unspecified`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::Accepted => "accepted",
            Self::Started => "started",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Stored => "stored",
            Self::Deleted => "deleted",
        }
    }

    /// Parses a name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// Where the kind sorts among events of the same millisecond: the order they happen to a job.
    #[must_use]
    pub fn rank(self) -> u8 {
        match self {
            Self::Unspecified => 0,
            Self::Accepted => 1,
            Self::Started => 2,
            Self::Done | Self::Failed => 3,
            Self::Stored => 4,
            Self::Deleted => 5,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_kind_names_round_trip_and_rank_in_life_order() {
        for kind in job_event::Kind::ALL {
            assert_eq!(job_event::Kind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(job_event::Kind::from_name("unspecified"), None);
        let ranks: Vec<u8> = job_event::Kind::ALL
            .iter()
            .map(|kind| kind.rank())
            .collect();
        assert!(ranks.is_sorted(), "{ranks:?}");
    }

    #[test]
    fn names_round_trip() {
        for format in ImageFormat::ALL {
            assert_eq!(ImageFormat::from_name(format.name()), Some(format));
        }
        for fit in [Fit::Contain, Fit::Cover, Fit::Fill, Fit::Inside] {
            assert_eq!(Fit::from_name(fit.name()), Some(fit));
        }
        for gravity in Gravity::ALL {
            assert_eq!(Gravity::from_name(gravity.name()), Some(gravity));
        }
        for flip in [
            Flip::Unspecified,
            Flip::Horizontal,
            Flip::Vertical,
            Flip::Both,
        ] {
            assert_eq!(Flip::from_name(flip.name()), Some(flip));
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
        assert_eq!(Gravity::from_name("North_East"), Some(Gravity::NorthEast));
        assert_eq!(Gravity::from_name("se"), Some(Gravity::SouthEast));
        assert_eq!(Gravity::from_name("middle"), None);
    }

    #[test]
    fn only_jpeg_png_webp_are_writable() {
        assert!(ImageFormat::Png.is_writable());
        assert!(!ImageFormat::Gif.is_writable());
        assert_eq!(ImageFormat::Webp.mime_type(), "image/webp");
    }
}
