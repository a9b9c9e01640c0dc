//! A line chart of counts over hours, drawn as inline SVG on the server: two or three
//! polylines and their axes need no plotting library and no script in the page.

use maud::{Markup, html};

use crate::pages::layout::utc_minutes;

/// One line: a name for the legend, a colour, and (unix seconds, count) points in time order.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub colour: &'static str,
    pub points: Vec<(i64, u64)>,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 12.0;
const RIGHT: f64 = 12.0;

pub fn line_chart(title: &str, series: &[Series]) -> Markup {
    let xs = series.iter().flat_map(|s| s.points.iter().map(|(x, _)| *x));
    let (min_x, max_x) = xs.clone().fold((i64::MAX, i64::MIN), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let max_y = series.iter().flat_map(|s| s.points.iter().map(|(_, y)| *y)).max().unwrap_or(0).max(1);
    if min_x > max_x {
        return html! { p.muted { "Nothing counted yet." } };
    }
    let span = (max_x - min_x).max(1) as f64;
    let x_at = |x: i64| LEFT + (x - min_x) as f64 / span * (WIDTH - LEFT - RIGHT);
    let y_at = |y: u64| TOP + (1.0 - y as f64 / max_y as f64) * (HEIGHT - TOP - BOTTOM);
    let polyline = |points: &[(i64, u64)]| {
        points.iter().map(|(x, y)| format!("{:.1},{:.1}", x_at(*x), y_at(*y))).collect::<Vec<_>>().join(" ")
    };
    html! {
        figure.chart {
            svg xmlns="http://www.w3.org/2000/svg" width=(WIDTH) height=(HEIGHT) viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-label=(title) {
                line x1=(LEFT) y1=(HEIGHT - BOTTOM) x2=(WIDTH - RIGHT) y2=(HEIGHT - BOTTOM) stroke="#889" {}
                line x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(HEIGHT - BOTTOM) stroke="#889" {}
                text x=(LEFT - 6.0) y=(TOP + 10.0) text-anchor="end" font-size="11" { (max_y) }
                text x=(LEFT - 6.0) y=(HEIGHT - BOTTOM) text-anchor="end" font-size="11" { "0" }
                text x=(LEFT) y=(HEIGHT - 8.0) font-size="11" { (utc_minutes(min_x)) }
                text x=(WIDTH - RIGHT) y=(HEIGHT - 8.0) text-anchor="end" font-size="11" { (utc_minutes(max_x)) }
                @for line in series {
                    @if line.points.len() == 1 {
                        circle cx=(x_at(line.points[0].0)) cy=(y_at(line.points[0].1)) r="3" fill=(line.colour) {}
                    } @else {
                        polyline points=(polyline(&line.points)) fill="none" stroke=(line.colour) stroke-width="2" {}
                    }
                }
            }
            figcaption {
                (title) ": "
                @for line in series { span style=(format!("color:{}", line.colour)) { "■ " } (line.name) " " }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_scaled_into_the_frame() {
        let series = [Series { name: "delivered".into(), colour: "#000", points: vec![(0, 0), (3600, 10)] }];
        let svg = line_chart("reach", &series).into_string();
        // The first point at the origin corner, the last at the top right of the plot area.
        assert!(
            svg.contains(&format!("points=\"{LEFT:.1},{:.1} {:.1},{TOP:.1}\"", HEIGHT - BOTTOM, WIDTH - RIGHT)),
            "{svg}"
        );
        assert!(svg.contains(">10<"), "the largest count labels the axis: {svg}");
    }

    #[test]
    fn an_empty_chart_says_so() {
        assert!(line_chart("reach", &[]).into_string().contains("Nothing counted yet"));
    }
}
