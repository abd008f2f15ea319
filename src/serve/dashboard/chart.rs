//! Activity charts as server-rendered SVG: one stacked bar per bucket (completed, failed,
//! missed), a scale on the left, labels under every few bars. No script draws anything, so
//! the CSP stays as strict and the page reads the same with JavaScript off; each bar carries
//! a `<title>` (hover, screen readers) and the numbers are also a table on the page.

use crate::ops::overview::Bucket;

/// The drawing area, in SVG units.
pub const WIDTH: i64 = 1000;
pub const HEIGHT: i64 = 180;
/// Room for the scale on the left and the labels below.
const LEFT: i64 = 44;
const BOTTOM: i64 = 22;
const TOP: i64 = 10;

/// One coloured part of a bar.
pub struct Segment {
    pub y: i64,
    pub height: i64,
    /// `completed`, `failed` or `missed`: the stylesheet colours it.
    pub class: &'static str,
}

/// One bucket's bar.
pub struct Bar {
    pub x: i64,
    pub width: i64,
    pub segments: Vec<Segment>,
    /// "14:00: 3 completed, 1 failed, 0 missed".
    pub title: String,
}

/// A label on an axis.
pub struct Label {
    pub x: i64,
    pub y: i64,
    pub text: String,
}

/// A chart ready for the template.
pub struct Chart {
    pub width: i64,
    pub height: i64,
    pub left: i64,
    pub base: i64,
    pub bars: Vec<Bar>,
    pub scale: Vec<Label>,
    pub labels: Vec<Label>,
    /// The table behind the chart: (label, completed, failed, missed).
    pub rows: Vec<(String, u64, u64, u64)>,
}

/// A stacked bar chart of `buckets`, a label under every `label_every`-th bar.
pub fn stacked(buckets: &[Bucket], label_every: usize) -> Chart {
    let base = HEIGHT - BOTTOM;
    let room = (base - TOP) as f64;
    let total = |b: &Bucket| b.completed + b.failed + b.missed;
    let most = buckets.iter().map(total).max().unwrap_or(0);
    // A round top for the scale: 1, 2, 5, 10, 20, 50, ...
    let top = nice_ceiling(most.max(1));
    let slot = (WIDTH - LEFT) as f64 / buckets.len().max(1) as f64;
    let width = ((slot * 0.75) as i64).max(1);
    let mut bars = Vec::with_capacity(buckets.len());
    let mut labels = Vec::new();
    for (i, b) in buckets.iter().enumerate() {
        let x = LEFT + (i as f64 * slot + (slot - width as f64) / 2.0) as i64;
        let mut y = base;
        let mut segments = Vec::new();
        for (count, class) in [
            (b.completed, "completed"),
            (b.failed, "failed"),
            (b.missed, "missed"),
        ] {
            if count == 0 {
                continue;
            }
            let height = ((count as f64 / top as f64 * room).round() as i64).max(1);
            y -= height;
            segments.push(Segment { y, height, class });
        }
        bars.push(Bar {
            x,
            width,
            segments,
            title: format!(
                "{}: {} completed, {} failed, {} missed",
                b.label, b.completed, b.failed, b.missed
            ),
        });
        if i % label_every.max(1) == 0 {
            labels.push(Label {
                x: x + width / 2,
                y: HEIGHT - 6,
                text: b.label.clone(),
            });
        }
    }
    let scale = [0, top / 2, top]
        .into_iter()
        .map(|v| Label {
            x: LEFT - 6,
            y: base - (v as f64 / top as f64 * room) as i64 + 4,
            text: v.to_string(),
        })
        .collect();
    Chart {
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        base,
        bars,
        scale,
        labels,
        rows: buckets
            .iter()
            .map(|b| (b.label.clone(), b.completed, b.failed, b.missed))
            .collect(),
    }
}

/// The smallest of 1, 2, 5 × 10ⁿ at or above `n` (and even, so half of it is a whole number
/// from 2 on).
fn nice_ceiling(n: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            let v = step.saturating_mul(m);
            if v >= n {
                return if v == 1 { 2 } else { v };
            }
        }
        step = step.saturating_mul(10);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Stamp;

    #[test]
    fn the_scale_is_round_and_bars_stack_within_it() {
        assert_eq!(nice_ceiling(1), 2);
        assert_eq!(nice_ceiling(3), 5);
        assert_eq!(nice_ceiling(7), 10);
        assert_eq!(nice_ceiling(11), 20);
        assert_eq!(nice_ceiling(101), 200);
        let bucket = |label: &str, c, f, m| Bucket {
            start: Stamp(jiff::Timestamp::UNIX_EPOCH),
            label: label.into(),
            completed: c,
            failed: f,
            missed: m,
        };
        let chart = stacked(&[bucket("a", 6, 3, 1), bucket("b", 0, 0, 0)], 1);
        let bar = &chart.bars[0];
        assert_eq!(bar.segments.len(), 3);
        let tallest = bar.segments.last().map(|s| s.y).unwrap_or(0);
        assert!(tallest >= TOP, "within the drawing: {tallest}");
        assert_eq!(bar.title, "a: 6 completed, 3 failed, 1 missed");
        assert!(chart.bars[1].segments.is_empty());
        assert_eq!(chart.labels.len(), 2);
        assert_eq!(chart.rows[0], ("a".into(), 6, 3, 1));
    }
}
