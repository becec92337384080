//! A small SVG writer: the handful of elements the charts use (rect, line, polyline, circle,
//! path, text), linear and log-10 scales with round tick values, axes and legends.
//!
//! Written by hand rather than with a plotting crate: the charts need grouped bars, ranges,
//! step lines and timelines, each a few lines here, and the output is plain text that any
//! browser or viewer renders with its own fonts: nothing is rasterised, no font file is read
//! when the report is generated, and the SVG diffs readably in git.

use std::fmt::Write;

/// Font stack of every label: whatever sans-serif font the viewer has.
const FONT: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";

/// Body text size, px.
pub(crate) const TEXT: f64 = 13.0;

/// An SVG document under construction.
#[derive(Debug)]
pub(crate) struct Svg {
    width: f64,
    height: f64,
    body: String,
}

/// Horizontal text anchoring.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn name(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

/// Stroke of a line: colour, width, dash pattern (`""` for solid).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stroke<'a> {
    pub(crate) color: &'a str,
    pub(crate) width: f64,
    pub(crate) dash: &'a str,
}

impl Stroke<'_> {
    fn attrs(&self) -> String {
        let dash = if self.dash.is_empty() {
            String::new()
        } else {
            format!(" stroke-dasharray=\"{}\"", self.dash)
        };
        format!(
            "stroke=\"{}\" stroke-width=\"{}\"{dash}",
            self.color,
            num(self.width)
        )
    }
}

/// A number as SVG wants it: two decimals at most, no trailing zeros.
pub(crate) fn num(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// `s` with the five XML special characters escaped: the one escaper of `common`, which
/// `/docs` uses too.
pub(crate) use common::openapi::escape;

/// Rough width of `s` at `size` px in a sans-serif font: for layout only.
pub(crate) fn text_width(s: &str, size: f64) -> f64 {
    s.chars().count() as f64 * size * 0.58
}

impl Svg {
    /// A `width` × `height` px document on a white background, with a `<title>` for tools and
    /// screen readers.
    pub(crate) fn new(width: f64, height: f64, title: &str) -> Svg {
        let mut svg = Svg {
            width,
            height,
            body: String::new(),
        };
        let _ = writeln!(svg.body, "<title>{}</title>", escape(title));
        svg.rect(0.0, 0.0, width, height, "#ffffff", "");
        svg
    }

    /// Changes the height (charts whose length is known only at the end).
    pub(crate) fn set_height(&mut self, height: f64) {
        self.height = height;
    }

    /// A filled rectangle; `extra` is appended to its attributes (`stroke=…`, `opacity=…`).
    pub(crate) fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, extra: &str) {
        let _ = writeln!(
            self.body,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"{}{extra}/>",
            num(x),
            num(y),
            num(w.max(0.0)),
            num(h.max(0.0)),
            if extra.is_empty() { "" } else { " " }
        );
    }

    /// A line segment.
    pub(crate) fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: Stroke<'_>) {
        let _ = writeln!(
            self.body,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" {}/>",
            num(x1),
            num(y1),
            num(x2),
            num(y2),
            stroke.attrs()
        );
    }

    /// A polyline through `points`.
    pub(crate) fn polyline(&mut self, points: &[(f64, f64)], stroke: Stroke<'_>) {
        if points.is_empty() {
            return;
        }
        let _ = writeln!(
            self.body,
            "<polyline points=\"{}\" fill=\"none\" {} stroke-linejoin=\"round\"/>",
            point_list(points),
            stroke.attrs()
        );
    }

    /// A filled circle with an optional outline.
    pub(crate) fn circle(&mut self, cx: f64, cy: f64, r: f64, fill: &str, outline: &str) {
        let stroke = if outline.is_empty() {
            String::new()
        } else {
            format!(" stroke=\"{outline}\" stroke-width=\"1.2\"")
        };
        let _ = writeln!(
            self.body,
            "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{fill}\"{stroke}/>",
            num(cx),
            num(cy),
            num(r)
        );
    }

    /// A closed polygon (markers: triangles).
    pub(crate) fn polygon(&mut self, points: &[(f64, f64)], fill: &str, outline: &str) {
        let _ = writeln!(
            self.body,
            "<polygon points=\"{}\" fill=\"{fill}\" stroke=\"{outline}\" stroke-width=\"1\"/>",
            point_list(points)
        );
    }

    /// Text at (`x`, `y`) (baseline), `size` px.
    pub(crate) fn text(&mut self, x: f64, y: f64, s: &str, size: f64, anchor: Anchor) {
        self.text_styled(x, y, s, size, anchor, "");
    }

    /// Bold text.
    pub(crate) fn bold(&mut self, x: f64, y: f64, s: &str, size: f64, anchor: Anchor) {
        self.text_styled(x, y, s, size, anchor, "font-weight=\"bold\"");
    }

    /// Text turned by `degrees` around its anchor point.
    pub(crate) fn text_rotated(
        &mut self,
        x: f64,
        y: f64,
        s: &str,
        size: f64,
        anchor: Anchor,
        degrees: f64,
    ) {
        let t = format!(
            "transform=\"rotate({} {} {})\"",
            num(degrees),
            num(x),
            num(y)
        );
        self.text_styled(x, y, s, size, anchor, &t);
    }

    /// Text with extra attributes (`fill=…`, `font-style=…`).
    pub(crate) fn text_styled(
        &mut self,
        x: f64,
        y: f64,
        s: &str,
        size: f64,
        anchor: Anchor,
        extra: &str,
    ) {
        let _ = writeln!(
            self.body,
            "<text x=\"{}\" y=\"{}\" font-size=\"{}\" text-anchor=\"{}\"{}{extra}>{}</text>",
            num(x),
            num(y),
            num(size),
            anchor.name(),
            if extra.is_empty() { "" } else { " " },
            escape(s)
        );
    }

    /// The finished document.
    pub(crate) fn finish(self) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
             viewBox=\"0 0 {w} {h}\" font-family=\"{FONT}\" fill=\"#222222\">\n{}</svg>\n",
            self.body,
            w = num(self.width),
            h = num(self.height),
        )
    }
}

/// Maps data values to pixels, linearly or on a log-10 scale.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
    log: bool,
}

impl Scale {
    /// Linear: `d0..d1` onto `r0..r1` (pixels; `r0 > r1` for a y axis).
    pub(crate) fn linear(d0: f64, d1: f64, r0: f64, r1: f64) -> Scale {
        let d1 = if d1 > d0 { d1 } else { d0 + 1.0 };
        Scale {
            d0,
            d1,
            r0,
            r1,
            log: false,
        }
    }

    /// Log 10: `d0..d1` (both > 0) onto `r0..r1`.
    pub(crate) fn log(d0: f64, d1: f64, r0: f64, r1: f64) -> Scale {
        let d0 = d0.max(f64::MIN_POSITIVE).log10();
        let d1 = d1.max(f64::MIN_POSITIVE).log10();
        let d1 = if d1 > d0 { d1 } else { d0 + 1.0 };
        Scale {
            d0,
            d1,
            r0,
            r1,
            log: true,
        }
    }

    /// The pixel of `v`, clamped to the range.
    pub(crate) fn at(&self, v: f64) -> f64 {
        let v = if self.log {
            v.max(f64::MIN_POSITIVE).log10()
        } else {
            v
        };
        let t = ((v - self.d0) / (self.d1 - self.d0)).clamp(0.0, 1.0);
        self.r0 + t * (self.r1 - self.r0)
    }

    /// Round tick values within the domain: about `count` on a linear scale; 1, 2, 5 × 10^k
    /// (or only the powers of ten, over many decades) on a log scale.
    pub(crate) fn ticks(&self, count: usize) -> Vec<f64> {
        if self.log {
            let (lo, hi) = (self.d0, self.d1);
            let decades = hi - lo;
            let steps: &[f64] = if decades > 4.5 {
                &[1.0]
            } else if decades > 1.5 {
                &[1.0, 3.0]
            } else {
                &[1.0, 2.0, 5.0]
            };
            let mut out = Vec::new();
            let mut k = lo.floor() as i32;
            while f64::from(k) <= hi.ceil() {
                for s in steps {
                    let v = s * 10f64.powi(k);
                    let l = v.log10();
                    if l >= lo - 1e-9 && l <= hi + 1e-9 {
                        out.push(v);
                    }
                }
                k += 1;
            }
            out
        } else {
            nice_ticks(self.d0, self.d1, count)
        }
    }
}

/// About `count` round values (1, 2, 5 × 10^k apart) covering `lo..=hi`.
pub(crate) fn nice_ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    let span = (hi - lo).abs();
    if span <= 0.0 || !span.is_finite() {
        return vec![lo];
    }
    let step = nice_step(span / count.max(1) as f64);
    let first = (lo / step).ceil() * step;
    let mut out = Vec::new();
    let mut v = first;
    while v <= hi + step * 1e-9 {
        out.push(if v.abs() < step * 1e-9 { 0.0 } else { v });
        v += step;
    }
    out
}

/// The 1, 2 or 5 × 10^k nearest to `raw` (by ratio).
fn nice_step(raw: f64) -> f64 {
    let mag = 10f64.powf(raw.log10().floor());
    let off = |s: f64| (s / raw).ln().abs();
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .min_by(|a, b| off(*a).total_cmp(&off(*b)))
        .unwrap_or(mag)
}

/// The top of a linear axis starting at 0 that holds `max` with some room: a round number.
pub(crate) fn nice_max(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let step = nice_step(max / 5.0);
    (max * 1.05 / step).ceil() * step
}

/// A tick label: `0.5`, `20`, `1500`, `1e-3` style kept short.
pub(crate) fn tick_label(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".to_owned()
    } else if a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        num(v)
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').to_owned()
    }
}

/// One legend entry's key.
#[derive(Debug, Clone)]
pub(crate) enum Key {
    /// A filled box.
    Box(String),
    /// A line with a dash pattern and width.
    Line(String, String, f64),
    /// A circle marker.
    Dot(String),
    /// A triangle marker.
    Triangle(String),
    /// A square marker, outlined like the chart's (a filled `Box` in white would not show).
    Square(String),
}

/// Draws `entries` left to right from (`x`, `y`), wrapping at `max_x`; returns the y below the
/// legend.
pub(crate) fn legend(svg: &mut Svg, x: f64, y: f64, max_x: f64, entries: &[(Key, String)]) -> f64 {
    let row = TEXT + 9.0;
    let (mut cx, mut cy) = (x, y);
    for (key, label) in entries {
        let w = 26.0 + text_width(label, TEXT) + 18.0;
        if cx + w > max_x && cx > x {
            cx = x;
            cy += row;
        }
        let mid = cy - TEXT * 0.35;
        match key {
            Key::Box(c) => svg.rect(cx, mid - 6.0, 18.0, 12.0, c, ""),
            Key::Line(c, dash, width) => svg.line(
                cx,
                mid,
                cx + 20.0,
                mid,
                Stroke {
                    color: c,
                    width: *width,
                    dash,
                },
            ),
            Key::Dot(c) => svg.circle(cx + 9.0, mid, 4.5, c, "#222222"),
            Key::Triangle(c) => svg.polygon(&triangle(cx + 9.0, mid, 5.5), c, "#222222"),
            Key::Square(c) => svg.rect(cx + 4.0, mid - 5.0, 10.0, 10.0, c, "stroke=\"#222222\""),
        }
        svg.text(cx + 26.0, cy, label, TEXT, Anchor::Start);
        cx += w;
    }
    cy + row
}

/// An upward triangle centred on (`x`, `y`).
pub(crate) fn triangle(x: f64, y: f64, r: f64) -> Vec<(f64, f64)> {
    vec![(x, y - r), (x + r, y + r * 0.8), (x - r, y + r * 0.8)]
}

/// `x1,y1 x2,y2 …`: the `points` attribute of a polyline or polygon.
fn point_list(points: &[(f64, f64)]) -> String {
    let pts: Vec<String> = points
        .iter()
        .map(|(x, y)| format!("{},{}", num(*x), num(*y)))
        .collect();
    pts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_escapes() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(1.256), "1.26");
        assert_eq!(num(-0.001), "0");
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(
            nice_ticks(0.0, 100.0, 5),
            [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        let labels: Vec<String> = nice_ticks(0.0, 0.9, 4)
            .into_iter()
            .map(tick_label)
            .collect();
        assert_eq!(labels, ["0", "0.2", "0.4", "0.6", "0.8"]);
        assert_eq!(nice_max(87.0), 100.0);
        let log = Scale::log(0.5, 2000.0, 0.0, 100.0);
        assert_eq!(log.ticks(5), [1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0]);
        let wide = Scale::log(0.01, 50_000.0, 0.0, 100.0);
        assert_eq!(
            wide.ticks(5),
            [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0]
        );
        assert_eq!(log.at(0.1), 0.0);
        assert!((log.at(10.0) - log.at(1.0) - (log.at(100.0) - log.at(10.0))).abs() < 1e-9);
        assert_eq!(tick_label(0.25), "0.25");
        assert_eq!(tick_label(2000.0), "2000");
    }
}
