//! Charts as SVG strings (plotters' SVG backend).
//!
//! Theme: plotters writes colours as `rgb(…)`/`#rrggbb`. Each chart is drawn
//! with a few SENTINEL colours that nothing else uses, and [`themed`]
//! replaces them in the SVG text with CSS variables (`var(--accent)`,
//! `var(--fg)`, `var(--muted)`, `var(--danger)`, `var(--grid)`), so the UI's
//! light/dark theme applies. Text uses `font-family: inherit`.

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

const SIZE: (u32, u32) = (640, 280);

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

/// A bar chart of `bars` (label, value) with an optional second series
/// drawn in the danger colour, and an optional horizontal limit line.
fn bars(title: &str, bars: &[(String, u64, u64)], limit: Option<u64>) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let n = bars.len().max(1);
        let top = bars
            .iter()
            .map(|b| b.1 + b.2)
            .chain(limit)
            .max()
            .unwrap_or(0)
            .max(1);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16).into_font().color(&FG))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(48)
            .build_cartesian_2d(0..n, 0..top + top / 10 + 1)
            .map_err(err)?;
        let label = |i: &usize| bars.get(*i).map(|b| b.0.clone()).unwrap_or_default();
        chart
            .configure_mesh()
            .light_line_style(GRID)
            .bold_line_style(GRID)
            .axis_style(MUTED)
            .label_style(("sans-serif", 11).into_font().color(&FG))
            .x_labels(n.min(12))
            .x_label_formatter(&label)
            .draw()
            .map_err(err)?;
        chart
            .draw_series(
                bars.iter()
                    .enumerate()
                    .map(|(i, b)| Rectangle::new([(i, 0), (i + 1, b.1)], ACCENT.filled())),
            )
            .map_err(err)?;
        chart
            .draw_series(
                bars.iter()
                    .enumerate()
                    .filter(|(_, b)| b.2 > 0)
                    .map(|(i, b)| Rectangle::new([(i, b.1), (i + 1, b.1 + b.2)], DANGER.filled())),
            )
            .map_err(err)?;
        if let Some(l) = limit {
            chart
                .draw_series(LineSeries::new([(0, l), (n, l)], DANGER.stroke_width(2)))
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
    bars("Codes consumed per month", &data, None)
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
    bars(
        "Code expirations per month (offline for want of codes in red)",
        &data,
        None,
    )
}

/// Remaining codes of the account, month by month, if consumption goes on
/// at the last 90 days' rate; the caption names the run-out month.
pub fn burn_down(cache: &Cache, now: DateTime<Utc>) -> Result<String> {
    let ov = crate::views::overview::overview(cache, now)?;
    let recent: i64 = cache.read(|c| {
        Ok(c.query_row(
            "SELECT COUNT(*) FROM codes WHERE consumed_at >= ?1",
            [ts(now - Duration::days(90))],
            |r| r.get(0),
        )?)
    })?;
    let per_month = (recent as f64 * 30.44 / 90.0).round() as u64;
    let tz = cache.read(time_zone)?;
    let start = month_index(now, tz);
    let demand = vec![per_month; 24];
    let months = forecast_offline(&demand, ov.remaining);
    let run_out = months
        .iter()
        .position(|m| m.offline > 0)
        .map(|i| month_label(start + i as i64));
    let data: Vec<_> = months
        .iter()
        .enumerate()
        .map(|(i, m)| (month_label(start + i as i64), m.codes_left, 0))
        .collect();
    let title = match run_out {
        Some(m) => format!("Remaining codes at {per_month}/month: run out {m}"),
        None => format!("Remaining codes at {per_month}/month: enough for 24 months"),
    };
    bars(&title, &data, None)
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
    bars(
        &format!("Messages per day — {dk}"),
        &data,
        Some(u64::from(q.messages_per_day)),
    )
}
