//! Charts as SVG strings (plotters' SVG backend).
//!
//! Theme: plotters writes colours as `rgb(…)`/`#rrggbb`. Each chart is drawn
//! with a few SENTINEL colours that nothing else uses, and [`themed`]
//! replaces them in the SVG text with CSS variables (`var(--accent)`,
//! `var(--fg)`, `var(--muted)`, `var(--danger)`, `var(--grid)`), so the UI's
//! light/dark theme applies. Text uses `font-family: inherit`.
//!
//! A chart draws no caption and no legend, only its axes and their labels
//! (numbers and dates): the UI titles it, states the figures it is drawn
//! from (e.g. the burn-down's [`BurnDown`]) and draws its legend, in the
//! user's language.

use chrono::{DateTime, Duration, Utc};
use licensedesk_core::device::forecast_offline;
use plotters::prelude::*;

use crate::cache::{Cache, parse_ts, ts};
use crate::error::{Error, Result};
use crate::views::{month_index, month_label, time_zone};

const ACCENT: RGBColor = RGBColor(1, 2, 3);
const FG: RGBColor = RGBColor(4, 5, 6);
const MUTED: RGBColor = RGBColor(7, 8, 9);
const DANGER: RGBColor = RGBColor(10, 11, 12);
const GRID: RGBColor = RGBColor(13, 14, 15);

/// The drawing size. The License Management panel shows a chart in a grid
/// column of at least 300 px (about 310 px in a 1280 px window), the
/// Devices page in one of about 330 px: drawn at 360 px with 13 px labels,
/// the labels are shown 11–12 px tall there (`.chart svg` scales the SVG
/// to its column).
const SIZE: (u32, u32) = (360, 200);
/// Axis label size in SVG units (see [`SIZE`]).
const LABEL_PX: u32 = 13;
/// plotters' SVG backend writes a font's size divided by 1.24.
const PLOTTERS_LABEL_SIZE: f64 = LABEL_PX as f64 * 1.24;
/// Months the burn-down forecasts.
pub const BURN_DOWN_MONTHS: u32 = 24;
/// Days of consumption the burn-down's monthly rate is taken from.
const RATE_DAYS: i64 = 90;

/// Replaces the sentinel colours with CSS variables.
pub fn themed(svg: &str) -> String {
    let mut out = svg.to_owned();
    for (c, var) in [
        (ACCENT, "--accent"),
        (FG, "--fg"),
        (MUTED, "--muted"),
        (DANGER, "--danger"),
        (GRID, "--grid"),
    ] {
        let v = format!("var({var})");
        out = out
            .replace(&format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2), &v)
            .replace(&format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2), &v)
            .replace(&format!("rgb({},{},{})", c.0, c.1, c.2), &v);
    }
    out.replace("font-family=\"sans-serif\"", "font-family=\"inherit\"")
}

fn err(e: impl std::fmt::Display) -> Error {
    Error::Chart(e.to_string())
}

/// Which bars carry an x label: as many as fit, evenly spaced, counted
/// from the first bar (a forecast starting now) or from the last (a past
/// period ending now).
#[derive(Debug, Clone, Copy)]
enum LabelFrom {
    Start,
    End,
}

/// The indices of the labelled bars among `n` whose labels are `chars`
/// characters long.
fn labelled(n: usize, chars: usize, plot_width: u32, from: LabelFrom) -> Vec<usize> {
    // A digit is about 0.55 em wide; leave 1.5 em between two labels.
    let per_label = (chars as f64 * 0.55 + 1.5) * f64::from(LABEL_PX);
    let fit = ((f64::from(plot_width) / per_label).floor() as usize).max(1);
    let step = n.div_ceil(fit).max(1);
    let mut at: Vec<usize> = (0..n).step_by(step).collect();
    if let LabelFrom::End = from {
        at = at.iter().map(|i| n - 1 - i).rev().collect();
    }
    at
}

/// A bar chart of `bars` (label, value, more) without a caption: the UI
/// titles it. `more` is stacked on `value` in the danger colour; `limit`
/// is drawn as a horizontal danger line.
fn bars(bars: &[(String, u64, u64)], limit: Option<u64>, from: LabelFrom) -> Result<String> {
    let n = bars.len().max(1);
    let top = bars
        .iter()
        .map(|b| b.1 + b.2)
        .chain(limit)
        .max()
        .unwrap_or(0)
        .max(1);
    let y_max = top + top / 10 + 1;
    // Room for the longest y label (about 0.55 em a digit) and its tick.
    let y_area = (y_max.to_string().len() as f64 * 0.55 * f64::from(LABEL_PX)).ceil() as u32 + 12;
    let (margin, margin_right) = (8, 16);
    let plot_width = SIZE.0 - y_area - margin - margin_right;
    let chars = bars.iter().map(|b| b.0.chars().count()).max().unwrap_or(1);
    // x in tenths of a bar: bar i spans [10 i, 10 i + 10), its label sits
    // at its middle.
    let keys: Vec<i64> = labelled(bars.len(), chars, plot_width, from)
        .into_iter()
        .map(|i| i as i64 * 10 + 5)
        .collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let mut chart = ChartBuilder::on(&root)
            .margin(margin)
            .margin_right(margin_right)
            .x_label_area_size(LABEL_PX + 12)
            .y_label_area_size(y_area)
            .build_cartesian_2d((0..n as i64 * 10).with_key_points(keys), 0..y_max)
            .map_err(err)?;
        let label = |x: &i64| {
            usize::try_from(x.div_euclid(10))
                .ok()
                .and_then(|i| bars.get(i))
                .map(|b| b.0.clone())
                .unwrap_or_default()
        };
        let font = ("sans-serif", PLOTTERS_LABEL_SIZE).into_font().color(&FG);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .axis_style(MUTED)
            .label_style(font)
            .y_labels(6)
            .x_label_formatter(&label)
            .draw()
            .map_err(err)?;
        // A gap of a fifth of a bar between two bars.
        let bar = |i: usize, from: u64, to: u64, colour: RGBColor| {
            let x = i as i64 * 10;
            Rectangle::new([(x + 1, from), (x + 9, to)], colour.filled())
        };
        chart
            .draw_series(bars.iter().enumerate().map(|(i, b)| bar(i, 0, b.1, ACCENT)))
            .map_err(err)?;
        chart
            .draw_series(
                bars.iter()
                    .enumerate()
                    .filter(|(_, b)| b.2 > 0)
                    .map(|(i, b)| bar(i, b.1, b.1 + b.2, DANGER)),
            )
            .map_err(err)?;
        if let Some(l) = limit {
            chart
                .draw_series(LineSeries::new(
                    [(0, l), (n as i64 * 10, l)],
                    DANGER.stroke_width(2),
                ))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(themed(&svg))
}

/// Codes consumed per local month over the last `months` months.
pub fn consumed_per_month(cache: &Cache, now: DateTime<Utc>, months: u32) -> Result<String> {
    let (labels, counts) = cache.read(|c| {
        let tz = time_zone(c)?;
        let end = month_index(now, tz);
        let start = end - i64::from(months.max(1)) + 1;
        let mut counts = vec![0u64; months.max(1) as usize];
        let mut st = c.prepare_cached("SELECT consumed_at FROM codes WHERE consumed_at >= ?1")?;
        let since = ts(now - Duration::days(i64::from(months) * 31 + 31));
        for t in st.query_map([since], |r| r.get::<_, String>(0))? {
            let m = month_index(parse_ts(&t?)?, tz) - start;
            if let Some(slot) = usize::try_from(m).ok().and_then(|m| counts.get_mut(m)) {
                *slot += 1;
            }
        }
        Ok(((start..=end).map(month_label).collect::<Vec<_>>(), counts))
    })?;
    let data: Vec<_> = labels
        .into_iter()
        .zip(counts)
        .map(|(l, c)| (l, c, 0))
        .collect();
    bars(&data, None, LabelFrom::End)
}

/// Devices expiring per local month for the next 12 months: renewed from
/// the pool (accent) and going offline for want of codes (danger), by core's
/// `forecast_offline` per product.
pub fn expirations_next_12_months(cache: &Cache, now: DateTime<Utc>) -> Result<String> {
    let data = cache.read(|c| {
        let tz = time_zone(c)?;
        let start = month_index(now, tz);
        let mut renewed = [0u64; 12];
        let mut offline = [0u64; 12];
        let pks: Vec<(String, i64)> = c
            .prepare("SELECT pk, IFNULL((SELECT remaining FROM pool_counts WHERE product_id = products.id), 0) FROM products")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (pk, remaining) in pks {
            let mut per_month = [0u64; 12];
            for (_, at) in crate::views::overview::active_expiries(c, &pk, now)? {
                if let Some(slot) = usize::try_from(month_index(at, tz) - start).ok().and_then(|m| per_month.get_mut(m)) {
                    *slot += 1;
                }
            }
            for (i, m) in forecast_offline(&per_month, remaining as u64).iter().enumerate() {
                renewed[i] += m.renewed;
                offline[i] += m.offline;
            }
        }
        Ok((0..12).map(|i| (month_label(start + i as i64), renewed[i], offline[i])).collect::<Vec<_>>())
    })?;
    bars(&data, None, LabelFrom::Start)
}

/// The burn-down chart and the figures it is drawn from, which the UI
/// states under the chart's heading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BurnDown {
    pub svg: String,
    /// Codes consumed a month at the last 90 days' rate (30.44-day
    /// months, rounded), which the forecast assumes.
    pub per_month: u64,
    /// The first month ("YYYY-MM", the account's time zone) whose
    /// consumption the remaining codes cannot meet; `None` when they last
    /// all [`BURN_DOWN_MONTHS`] months.
    pub runs_out: Option<String>,
}

/// Remaining codes of the account, month by month, if consumption goes on
/// at the last 90 days' rate (core's `forecast_offline`).
pub fn burn_down(cache: &Cache, now: DateTime<Utc>) -> Result<BurnDown> {
    let ov = crate::views::overview::overview(cache, now)?;
    let recent: i64 = cache.read(|c| {
        Ok(c.query_row(
            "SELECT COUNT(*) FROM codes WHERE consumed_at >= ?1",
            [ts(now - Duration::days(RATE_DAYS))],
            |r| r.get(0),
        )?)
    })?;
    let per_month = (recent as f64 * 30.44 / RATE_DAYS as f64).round() as u64;
    let tz = cache.read(time_zone)?;
    let start = month_index(now, tz);
    let demand = vec![per_month; BURN_DOWN_MONTHS as usize];
    let months = forecast_offline(&demand, ov.remaining);
    let runs_out = months
        .iter()
        .position(|m| m.offline > 0)
        .map(|i| month_label(start + i as i64));
    let data: Vec<_> = months
        .iter()
        .enumerate()
        .map(|(i, m)| (month_label(start + i as i64), m.codes_left, 0))
        .collect();
    Ok(BurnDown {
        svg: bars(&data, None, LabelFrom::Start)?,
        per_month,
        runs_out,
    })
}

/// A device's messages per local day (last 30 reported days) against its
/// daily limit (danger line).
pub fn device_messages(cache: &Cache, pk: &str, dk: &str, now: DateTime<Utc>) -> Result<String> {
    let q = crate::views::devices::device_quota(cache, pk, dk, now)?;
    let tz = cache.read(time_zone)?;
    let days = cache.read(|c| {
        let mut st = c.prepare_cached(
            "SELECT u.day_end, u.messages FROM usage_days u JOIN devices d ON d.id = u.device_id
             WHERE d.pk = ?1 AND d.dk = ?2 ORDER BY u.day_end DESC LIMIT 30",
        )?;
        let rows = st
            .query_map([pk, dk], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    })?;
    let mut data = Vec::new();
    for (end, n) in days.into_iter().rev() {
        let day = licensedesk_core::package::quota::local_date(
            parse_ts(&end)? - Duration::seconds(1),
            tz,
        )
        .map_err(err)?;
        data.push((day.format("%m-%d").to_string(), n as u64, 0));
    }
    bars(&data, Some(u64::from(q.messages_per_day)), LabelFrom::End)
}

/// Reports a gateway usage chart draws at most (the newest).
pub const USAGE_BARS: usize = 24;

/// A gateway's reported usage of one resource (connections or data tags)
/// over its last [`USAGE_BARS`] reports, one bar each, against `limit` (the
/// limit in force, a danger line; what is over it is drawn in danger).
/// Bars are labelled with the report's UTC time of day when all fall on one
/// day, else with its date.
pub fn gateway_usage(
    samples: &[licensedesk_core::gateway::usage::UsageSample],
    resource: licensedesk_core::gateway::Resource,
    limit: u32,
) -> Result<String> {
    let recent = &samples[samples.len().saturating_sub(USAGE_BARS)..];
    let one_day = recent
        .first()
        .zip(recent.last())
        .is_some_and(|(a, b)| a.at.date_naive() == b.at.date_naive());
    let format = if one_day { "%H:%M" } else { "%m-%d" };
    let data: Vec<(String, u64, u64)> = recent
        .iter()
        .map(|s| {
            let used = u64::from(s.in_use().of(resource));
            let within = used.min(u64::from(limit));
            (s.at.format(format).to_string(), within, used - within)
        })
        .collect();
    bars(&data, Some(u64::from(limit)), LabelFrom::End)
}
