//! Where the result's size comes from: the source size, the requested box, the fit and the rotation. Pure
//! integer arithmetic, so every rounding is the same on every machine.
//!
//! The box is the rotated result's: a 160x80 source rotated by 90 degrees and asked 20 wide becomes 20x40.
//! [`plan`] plans in the result's orientation; [`Plan::before`] gives the same plan as seen from the unrotated
//! source, so the (large) source can be resampled first and only the (small) result turned.

use imagepipe_proto::v1::{Fit, Flip, Gravity};

use crate::{
    EngineError,
    limits::{Limits, MAX_SIDE},
    request::{Request, Rotation},
};

/// The size of the result, and whether (and where) the source is first cropped to the result's aspect ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Result width, at least 1.
    pub width: u32,
    /// Result height, at least 1.
    pub height: u32,
    /// `cover`: crop the overflow of the source so that scaling keeps its aspect ratio, keeping the side or
    /// corner this anchor names (`Center`: the middle). `None`: no crop.
    pub crop: Option<Gravity>,
}

impl Plan {
    /// Whether the result has exactly the source's size (then no resampling is needed: cropping a source to its
    /// own aspect ratio crops nothing).
    pub(crate) fn keeps_size(&self, source: (u32, u32)) -> bool {
        (self.width, self.height) == source
    }

    /// The smallest size a `source` image may be decoded at and still resampled to this plan by scaling down
    /// only: the result's size, or for `cover` the size the whole source is scaled to before the overflow is
    /// cropped (each side at most the source's). `source` and the plan are in the same orientation.
    pub(crate) fn min_decode_size(&self, source: (u32, u32)) -> (u32, u32) {
        let (source_width, source_height) =
            (u64::from(source.0.max(1)), u64::from(source.1.max(1)));
        let (width, height) = (u64::from(self.width), u64::from(self.height));
        let (need_width, need_height) = if self.crop.is_none() {
            (width, height)
        } else if width * source_height >= height * source_width {
            // The box is relatively wider than the source: the width binds, the height overflows.
            (width, ceil_scale(source_height, width, source_width))
        } else {
            (ceil_scale(source_width, height, source_height), height)
        };
        (
            u32::try_from(need_width.min(source_width)).unwrap_or(source.0),
            u32::try_from(need_height.min(source_height)).unwrap_or(source.1),
        )
    }

    /// This plan (in the result's orientation) as seen before `rotation` and then `flip` are applied: the sides
    /// exchanged by a quarter turn, the crop's anchor turned back. Resampling the unturned source to it and then
    /// turning the result gives the same image as turning the source and resampling it to `self`.
    pub(crate) fn before(&self, rotation: Rotation, flip: Flip) -> Plan {
        let (width, height) = rotation.turn((self.width, self.height));
        Plan {
            width,
            height,
            crop: self
                .crop
                .map(|anchor| anchor_before(anchor, rotation, flip)),
        }
    }
}

/// Where `anchor` (in the result) was before `rotation` and then `flip` turned the image.
fn anchor_before(anchor: Gravity, rotation: Rotation, flip: Flip) -> Gravity {
    // As fractions of the width and height (0, 0.5 or 1: exact in floating point). Undo the flip…
    let (mut x, mut y) = anchor.fractions();
    if matches!(flip, Flip::Horizontal | Flip::Both) {
        x = 1.0 - x;
    }
    if matches!(flip, Flip::Vertical | Flip::Both) {
        y = 1.0 - y;
    }
    // …then the rotation: a quarter turn clockwise takes (u, v) to (1 - v, u).
    let (x, y) = match rotation {
        Rotation::None => (x, y),
        Rotation::Clockwise90 => (y, 1.0 - x),
        Rotation::Half => (1.0 - x, 1.0 - y),
        Rotation::Clockwise270 => (1.0 - y, x),
    };
    Gravity::ALL
        .into_iter()
        .find(|gravity| gravity.fractions() == (x, y))
        .unwrap_or(Gravity::Center)
}

/// `value * numerator / denominator`, rounded up.
fn ceil_scale(value: u64, numerator: u64, denominator: u64) -> u64 {
    (value * numerator).div_ceil(denominator)
}

/// Plans the result of `request` on a `source` = (width, height) image (both at least 1), upright as decoded.
/// The plan is the rotated result's: a quarter turn exchanges the source's sides before anything else.
///
/// - no width and no height: the source size;
/// - one side: that side, the other derived keeping the aspect ratio;
/// - both: `contain` fits inside the box keeping the aspect ratio (scaling up or down), `cover` fills the box
///   and crops the overflow, keeping the part `request.gravity` names, `fill` stretches to the box;
/// - `inside`: as `contain` (or one side), but a source that already fits keeps its size.
///
/// # Errors
/// [`EngineError::TooLarge`] when a derived side exceeds 16384 pixels or the result exceeds the pixel limit.
pub(crate) fn plan(
    source: (u32, u32),
    request: &Request,
    limits: &Limits,
) -> Result<Plan, EngineError> {
    let source = request.rotation.turn(source);
    let (source_width, source_height) = (u64::from(source.0.max(1)), u64::from(source.1.max(1)));
    // `inside` never enlarges: a box the source already fits in keeps the source's size.
    let fits_inside = request.fit == Fit::Inside
        && request
            .width
            .is_none_or(|width| u64::from(width) >= source_width)
        && request
            .height
            .is_none_or(|height| u64::from(height) >= source_height);
    let (width, height, cropped) = match (request.width, request.height) {
        (None, None) => (source_width, source_height, false),
        _ if fits_inside => (source_width, source_height, false),
        (Some(width), None) => {
            let width = u64::from(width);
            (width, scale(source_height, width, source_width), false)
        }
        (None, Some(height)) => {
            let height = u64::from(height);
            (scale(source_width, height, source_height), height, false)
        }
        (Some(width), Some(height)) => {
            let (width, height) = (u64::from(width), u64::from(height));
            match request.fit {
                Fit::Cover => (width, height, true),
                Fit::Fill => (width, height, false),
                Fit::Contain | Fit::Inside | Fit::Unspecified => {
                    // Width-bound when width / source_width <= height / source_height.
                    if width * source_height <= height * source_width {
                        let fitted = scale(source_height, width, source_width).min(height);
                        (width, fitted, false)
                    } else {
                        let fitted = scale(source_width, height, source_height).min(width);
                        (fitted, height, false)
                    }
                }
            }
        }
    };
    let too_large = || {
        EngineError::TooLarge(format!(
            "the result would be {width}x{height} pixels; at most {MAX_SIDE} per side and {} in all",
            limits.max_pixels
        ))
    };
    let (Ok(narrow_width), Ok(narrow_height)) = (u32::try_from(width), u32::try_from(height))
    else {
        return Err(too_large());
    };
    // Requested sides are at most MAX_SIDE already; only a derived side can exceed it. Keeping the size of a
    // larger source is fine (the pixel limit still applies).
    let resized = request.width.is_some() || request.height.is_some();
    let side_too_long = narrow_width > MAX_SIDE || narrow_height > MAX_SIDE;
    if (resized && side_too_long) || !limits.allows(narrow_width, narrow_height) {
        return Err(too_large());
    }
    Ok(Plan {
        width: narrow_width,
        height: narrow_height,
        crop: cropped.then_some(request.gravity),
    })
}

/// `value * numerator / denominator`, rounded to nearest, at least 1.
fn scale(value: u64, numerator: u64, denominator: u64) -> u64 {
    ((value * numerator + denominator / 2) / denominator).max(1)
}

#[cfg(test)]
mod tests {
    use imagepipe_proto::v1::TransformSpec;

    use super::*;

    fn request(width: Option<u32>, height: Option<u32>, fit: Fit) -> Request {
        Request::from_spec(&TransformSpec {
            width,
            height,
            fit: fit as i32,
            ..TransformSpec::default()
        })
        .unwrap()
    }

    fn size(source: (u32, u32), request: Request) -> (u32, u32) {
        let plan = plan(source, &request, &Limits::default()).unwrap();
        (plan.width, plan.height)
    }

    #[test]
    fn contain_fits_inside_the_box_keeping_aspect() {
        let contain = |w, h| request(Some(w), Some(h), Fit::Contain);
        assert_eq!(size((400, 200), contain(100, 100)), (100, 50));
        assert_eq!(size((200, 400), contain(100, 100)), (50, 100));
        assert_eq!(size((300, 200), contain(150, 150)), (150, 100));
        assert_eq!(size((100, 50), contain(400, 400)), (400, 200), "scales up");
        assert_eq!(size((10_000, 1), contain(100, 100)), (100, 1), "at least 1");
    }

    #[test]
    fn inside_never_enlarges() {
        let inside = |w, h| request(w, h, Fit::Inside);
        assert_eq!(size((400, 200), inside(Some(100), Some(100))), (100, 50));
        assert_eq!(size((100, 50), inside(Some(400), Some(400))), (100, 50));
        assert_eq!(size((100, 50), inside(Some(400), None)), (100, 50));
        assert_eq!(size((100, 50), inside(None, Some(25))), (50, 25));
        assert_eq!(size((100, 50), inside(Some(100), Some(10))), (20, 10));
        assert_eq!(
            size((100, 50), inside(Some(60), Some(400))),
            (60, 30),
            "one side too long is enough to shrink"
        );
    }

    #[test]
    fn cover_and_fill_are_the_box() {
        let plan_cover = plan(
            (400, 200),
            &request(Some(100), Some(100), Fit::Cover),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(
            plan_cover,
            Plan {
                width: 100,
                height: 100,
                crop: Some(Gravity::Center),
            }
        );
        assert_eq!(
            size((400, 200), request(Some(30), Some(70), Fit::Fill)),
            (30, 70)
        );
        let fill = plan(
            (400, 200),
            &request(Some(30), Some(70), Fit::Fill),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(fill.crop, None, "fill stretches, it does not crop");
    }

    #[test]
    fn cover_crops_towards_the_gravity() {
        for gravity in Gravity::ALL {
            let request = Request {
                gravity,
                ..request(Some(10), Some(10), Fit::Cover)
            };
            let plan = plan((30, 10), &request, &Limits::default()).unwrap();
            assert_eq!(plan.crop, Some(gravity));
        }
    }

    #[test]
    fn one_side_derives_the_other() {
        assert_eq!(
            size((400, 300), request(Some(200), None, Fit::Cover)),
            (200, 150)
        );
        assert_eq!(
            size((400, 300), request(None, Some(30), Fit::Fill)),
            (40, 30)
        );
        assert_eq!(
            size((3, 2), request(Some(1), None, Fit::Contain)),
            (1, 1),
            "rounds, at least 1"
        );
        let one_side = plan(
            (400, 300),
            &request(Some(200), None, Fit::Cover),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(one_side.crop, None, "nothing overflows");
    }

    #[test]
    fn quarter_turns_plan_on_the_turned_source() {
        let turned = |degrees, request: Request| Request {
            rotation: Rotation::from_degrees(degrees).unwrap(),
            ..request
        };
        let width_20 = request(Some(20), None, Fit::Contain);
        assert_eq!(size((160, 80), turned(90, width_20.clone())), (20, 40));
        assert_eq!(size((160, 80), turned(270, width_20.clone())), (20, 40));
        assert_eq!(size((160, 80), turned(180, width_20)), (20, 10));
        let inside = request(Some(100), Some(150), Fit::Inside);
        assert_eq!(
            size((160, 80), turned(90, inside.clone())),
            (75, 150),
            "80x160 upright: too tall"
        );
        assert_eq!(size((160, 80), inside), (100, 50));
        let none = request(None, None, Fit::Contain);
        assert_eq!(size((160, 80), turned(270, none)), (80, 160));
    }

    #[test]
    fn before_turns_the_plan_back() {
        let plan = Plan {
            width: 20,
            height: 40,
            crop: Some(Gravity::North),
        };
        let expect = |rotation, flip, size: (u32, u32), anchor| {
            let before = plan.before(rotation, flip);
            assert_eq!(
                (before.width, before.height, before.crop),
                (size.0, size.1, Some(anchor)),
                "{rotation:?} {flip:?}"
            );
        };
        // The top of the result was the left of a source turned a quarter clockwise, its right when turned the
        // other way, its bottom when upside down or flipped vertically.
        expect(Rotation::None, Flip::Unspecified, (20, 40), Gravity::North);
        expect(
            Rotation::Clockwise90,
            Flip::Unspecified,
            (40, 20),
            Gravity::West,
        );
        expect(
            Rotation::Clockwise270,
            Flip::Unspecified,
            (40, 20),
            Gravity::East,
        );
        expect(Rotation::Half, Flip::Unspecified, (20, 40), Gravity::South);
        expect(Rotation::None, Flip::Vertical, (20, 40), Gravity::South);
        expect(Rotation::None, Flip::Horizontal, (20, 40), Gravity::North);
        // Corners: north-east after a quarter turn clockwise was north-west; mirrored first, south-west.
        let corner = Plan {
            crop: Some(Gravity::NorthEast),
            ..plan
        };
        assert_eq!(
            corner.before(Rotation::Clockwise90, Flip::Unspecified).crop,
            Some(Gravity::NorthWest)
        );
        assert_eq!(
            corner.before(Rotation::Clockwise90, Flip::Horizontal).crop,
            Some(Gravity::SouthWest)
        );
        assert_eq!(
            corner.before(Rotation::Half, Flip::Both).crop,
            Some(Gravity::NorthEast),
            "a half turn and both flips cancel out"
        );
        let uncropped = Plan { crop: None, ..plan };
        assert_eq!(
            uncropped.before(Rotation::Clockwise90, Flip::Both).crop,
            None
        );
    }

    #[test]
    fn decode_size_is_the_result_or_the_uncropped_cover() {
        let plan_for = |source, width, height, fit| {
            plan(
                source,
                &request(Some(width), Some(height), fit),
                &Limits::default(),
            )
            .unwrap()
        };
        let contain = plan_for((4000, 3000), 256, 256, Fit::Contain);
        assert_eq!(contain.min_decode_size((4000, 3000)), (256, 192));
        let cover = plan_for((4000, 3000), 256, 256, Fit::Cover);
        assert_eq!(cover.min_decode_size((4000, 3000)), (342, 256));
        let cover = plan_for((3000, 4000), 256, 100, Fit::Cover);
        assert_eq!(cover.min_decode_size((3000, 4000)), (256, 342));
        let fill = plan_for((400, 300), 100, 290, Fit::Fill);
        assert_eq!(fill.min_decode_size((400, 300)), (100, 290));
        let enlarge = plan_for((100, 50), 400, 400, Fit::Cover);
        assert_eq!(
            enlarge.min_decode_size((100, 50)),
            (100, 50),
            "never past the source"
        );
    }

    #[test]
    fn no_size_keeps_the_source_size() {
        let plan = plan(
            (123, 45),
            &request(None, None, Fit::Contain),
            &Limits::default(),
        )
        .unwrap();
        assert!(plan.keeps_size((123, 45)));
    }

    #[test]
    fn refuses_results_past_the_limits() {
        let error = plan(
            (1, 1000),
            &request(Some(1000), None, Fit::Contain),
            &Limits::default(),
        )
        .unwrap_err();
        assert_eq!(error.code(), "too_large", "derived height 1000000");
        let error = plan(
            (10, 10),
            &request(Some(100), Some(100), Fit::Fill),
            &Limits::new(1_000),
        )
        .unwrap_err();
        assert_eq!(error.code(), "too_large", "10000 pixels over a 1000 limit");
    }
}
