//! The plot of `--steps`: p50 and p99 from accepted to done against the throughput achieved, one point per step
//! (labelled with the rate offered), as SVG drawn with plotters (its SVG backend writes text as `<text>`, for the
//! viewer to draw, so no font is needed to make it).

use plotters::prelude::*;

/// One step of the sweep, as plotted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Jobs offered per second.
    pub offered: f64,
    /// Results per second achieved.
    pub throughput: f64,
    /// Median from accepted to done, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile from accepted to done, milliseconds.
    pub p99_ms: f64,
}

/// Why the plot could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the plot: {0}")]
pub struct PlotError(String);

/// Width and height of the plot, pixels.
const SIZE: (u32, u32) = (800, 500);

/// The plot of `points` (in the order they were run) as an SVG document.
///
/// # Errors
/// [`PlotError`] when plotters cannot draw it (it draws into a string: in practice, never).
pub fn svg(title: &str, points: &[Point]) -> Result<String, PlotError> {
    let failed = |error: &dyn std::fmt::Display| PlotError(error.to_string());
    let margin = |largest: f64| if largest > 0.0 { largest * 1.15 } else { 1.0 };
    let x_max = margin(
        points
            .iter()
            .map(|point| point.throughput)
            .fold(0.0, f64::max),
    );
    let y_max = margin(
        points
            .iter()
            .map(|point| point.p99_ms.max(point.p50_ms))
            .fold(0.0, f64::max),
    );
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|error| failed(&error))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)
            .map_err(|error| failed(&error))?;
        let whole = |value: &f64| format!("{value:.0}");
        let tenths = |value: &f64| format!("{value:.1}");
        chart
            .configure_mesh()
            .max_light_lines(0)
            .x_desc("results per second achieved")
            .y_desc("accepted → done, ms")
            .x_label_formatter(if x_max >= 20.0 { &whole } else { &tenths })
            .y_label_formatter(&whole)
            .draw()
            .map_err(|error| failed(&error))?;
        for (name, color, value) in [
            (
                "p50",
                BLUE,
                (|point: &Point| point.p50_ms) as fn(&Point) -> f64,
            ),
            ("p99", RED, |point: &Point| point.p99_ms),
        ] {
            let line = points.iter().map(|point| (point.throughput, value(point)));
            chart
                .draw_series(LineSeries::new(line, color.stroke_width(2)))
                .map_err(|error| failed(&error))?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            chart
                .draw_series(
                    points.iter().map(|point| {
                        Circle::new((point.throughput, value(point)), 4, color.filled())
                    }),
                )
                .map_err(|error| failed(&error))?;
        }
        // Each step's offered rate beside its p99 point.
        chart
            .draw_series(points.iter().map(|point| {
                EmptyElement::at((point.throughput, point.p99_ms))
                    + Text::new(
                        format!("{} /s offered", point.offered),
                        (6, -16),
                        ("sans-serif", 12),
                    )
            }))
            .map_err(|error| failed(&error))?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|error| failed(&error))?;
        root.present().map_err(|error| failed(&error))?;
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The element names of `svg`'s tags in order, checking that every opened tag is closed in order.
    fn balanced_tags(svg: &str) -> Vec<String> {
        let mut open = Vec::new();
        let mut names = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            let end = rest[start..].find('>').expect("a tag ends") + start;
            let tag = &rest[start + 1..end];
            rest = &rest[end + 1..];
            if tag.starts_with('?') || tag.starts_with('!') {
                continue;
            }
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(
                    open.pop().as_deref(),
                    Some(name.trim()),
                    "closing </{name}>"
                );
                continue;
            }
            let name: String = tag
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '/')
                .collect();
            names.push(name.clone());
            if !tag.ends_with('/') {
                open.push(name);
            }
        }
        assert!(open.is_empty(), "left open: {open:?}");
        names
    }

    #[test]
    fn the_plot_is_svg_with_both_series() {
        let points = [
            Point {
                offered: 5.0,
                throughput: 4.9,
                p50_ms: 120.0,
                p99_ms: 300.0,
            },
            Point {
                offered: 10.0,
                throughput: 9.7,
                p50_ms: 150.0,
                p99_ms: 420.0,
            },
            Point {
                offered: 20.0,
                throughput: 12.1,
                p50_ms: 2_400.0,
                p99_ms: 6_100.0,
            },
        ];
        let drawn = svg("imagepipe: latency against throughput", &points).unwrap();
        assert!(drawn.trim_start().starts_with("<svg"), "{drawn}");
        assert!(drawn.trim_end().ends_with("</svg>"), "{drawn}");
        let tags = balanced_tags(&drawn);
        assert_eq!(tags[0], "svg");
        // Two lines (p50, p99) and two legend marks, a marker per point of each, a label per step.
        assert!(
            tags.iter().filter(|tag| *tag == "polyline").count() >= 2,
            "{tags:?}"
        );
        assert_eq!(
            tags.iter().filter(|tag| *tag == "circle").count(),
            6,
            "{tags:?}"
        );
        for label in ["p50", "p99", "20 /s offered", "results per second achieved"] {
            assert!(drawn.contains(label), "{label}: {drawn}");
        }
        // An empty sweep still makes a (blank) plot.
        assert!(balanced_tags(&svg("empty", &[]).unwrap()).contains(&"svg".to_owned()));
    }
}
