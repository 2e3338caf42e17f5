//! The weekly digest's chart, drawn in Rust with `plotters` into an RGB buffer and encoded as
//! PNG: MRR movements per month for 12 months (new, expansion and reactivation above the axis,
//! contraction and churn below) and the health distribution by MRR. Text uses the bundled
//! Liberation Sans (SIL Open Font License 1.1, `shared/assets/fonts/`, licence beside it)
//! through plotters' `ab_glyph` backend: Lambda has no system fonts.

use crate::domain::digest::ChartData;
use crate::domain::money;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use std::sync::Once;

pub const WIDTH: u32 = 1200;
pub const HEIGHT: u32 = 600;
const FONT: &[u8] = include_bytes!("../../../assets/fonts/LiberationSans-Regular.ttf");
const FAMILY: &str = "sans-serif";

const GREEN: RGBColor = RGBColor(46, 160, 67);
const TEAL: RGBColor = RGBColor(31, 136, 183);
const PURPLE: RGBColor = RGBColor(130, 80, 223);
const ORANGE: RGBColor = RGBColor(230, 140, 20);
const RED: RGBColor = RGBColor(207, 34, 46);
const YELLOW: RGBColor = RGBColor(212, 167, 44);
const GREY: RGBColor = RGBColor(140, 149, 159);

fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bundled font always parses; if it ever did not, text would be missing, not the chart.
        let _ = register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

/// The chart as PNG bytes.
pub fn render(chart: &ChartData) -> Result<Vec<u8>, String> {
    register();
    let mut rgb = vec![255_u8; (WIDTH * HEIGHT * 3) as usize];
    draw(chart, &mut rgb).map_err(|e| format!("drawing the chart: {e}"))?;
    let mut png_bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png_bytes, WIDTH, HEIGHT);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| format!("encoding the chart: {e}"))?;
        writer.write_image_data(&rgb).map_err(|e| format!("encoding the chart: {e}"))?;
    }
    Ok(png_bytes)
}

fn major(minor: i64, currency: &str) -> f64 {
    minor as f64 / money::minor_per_major(Some(currency)) as f64
}

fn draw(chart: &ChartData, rgb: &mut [u8]) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::with_buffer(rgb, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(WIDTH * 2 / 3);
    let currency = chart.currency.to_ascii_uppercase();

    // MRR movements per month: stacked above (gains) and below (losses) zero.
    let c = &chart.currency;
    let months: Vec<(String, [f64; 5])> = chart
        .months
        .iter()
        .map(|(m, b)| {
            let values = [
                major(b.new, c),
                major(b.expansion, c),
                major(b.reactivation, c),
                major(-b.contraction, c),
                major(-b.churn, c),
            ];
            (m.clone(), values)
        })
        .collect();
    let top = months.iter().map(|(_, v)| v[0] + v[1] + v[2]).fold(0.0_f64, f64::max).max(1.0) * 1.15;
    let bottom = months.iter().map(|(_, v)| v[3] + v[4]).fold(0.0_f64, f64::min).min(-1.0) * 1.15;
    let n = months.len().max(1) as i32;
    let mut mrr = ChartBuilder::on(&left)
        .caption(format!("MRR movements per month ({currency})"), (FAMILY, 24))
        .margin(16)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .build_cartesian_2d((0..n).into_segmented(), bottom..top)?;
    mrr.configure_mesh()
        .disable_x_mesh()
        .x_labels(n as usize)
        .x_label_formatter(&|x: &SegmentValue<i32>| match x {
            SegmentValue::CenterOf(i) => {
                months.get(*i as usize).map(|(m, _)| m.get(2..).unwrap_or(m).to_owned()).unwrap_or_default()
            }
            _ => String::new(),
        })
        .y_label_formatter(&|y: &f64| format!("{y:.0}"))
        .label_style((FAMILY, 13))
        .draw()?;
    let colors = [GREEN, TEAL, PURPLE, ORANGE, RED];
    let names = ["new", "expansion", "reactivation", "contraction", "churn"];
    for (k, &color) in colors.iter().enumerate() {
        let bars = months.iter().enumerate().map(|(i, (_, v))| {
            // Stack within the gains (0..3) or the losses (3..5).
            let (from, to) = if k < 3 {
                (v[..k].iter().sum::<f64>(), v[..=k].iter().sum::<f64>())
            } else {
                (v[3..k].iter().sum::<f64>(), v[3..=k].iter().sum::<f64>())
            };
            let i = i as i32;
            let mut bar =
                Rectangle::new([(SegmentValue::Exact(i), from), (SegmentValue::Exact(i + 1), to)], color.filled());
            bar.set_margin(0, 0, 6, 6);
            bar
        });
        mrr.draw_series(bars)?
            .label(names[k])
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 12, y + 6)], color.filled()));
    }
    mrr.draw_series(std::iter::once(PathElement::new(
        vec![(SegmentValue::Exact(0), 0.0), (SegmentValue::Exact(n), 0.0)],
        BLACK,
    )))?;
    mrr.configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(GREY)
        .label_font((FAMILY, 13))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;

    // Health distribution by MRR.
    let h = &chart.health;
    let bands = [
        ("green", h.green.mrr, h.green.accounts, GREEN),
        ("yellow", h.yellow.mrr, h.yellow.accounts, YELLOW),
        ("red", h.red.mrr, h.red.accounts, RED),
        ("unscored", h.unscored.mrr, h.unscored.accounts, GREY),
    ];
    let highest = bands.iter().map(|b| major(b.1, c)).fold(0.0_f64, f64::max).max(1.0) * 1.2;
    let mut health = ChartBuilder::on(&right)
        .caption(format!("Health by MRR ({currency})"), (FAMILY, 24))
        .margin(16)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .build_cartesian_2d((0..4).into_segmented(), 0.0..highest)?;
    health
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(4)
        .x_label_formatter(&|x: &SegmentValue<i32>| match x {
            SegmentValue::CenterOf(i) => bands.get(*i as usize).map(|b| b.0.to_owned()).unwrap_or_default(),
            _ => String::new(),
        })
        .y_label_formatter(&|y: &f64| format!("{y:.0}"))
        .label_style((FAMILY, 13))
        .draw()?;
    health.draw_series(bands.iter().enumerate().map(|(i, b)| {
        let i = i as i32;
        let mut bar =
            Rectangle::new([(SegmentValue::Exact(i), 0.0), (SegmentValue::Exact(i + 1), major(b.1, c))], b.3.filled());
        bar.set_margin(0, 0, 10, 10);
        bar
    }))?;
    health.draw_series(bands.iter().enumerate().map(|(i, b)| {
        let label = format!("{} acct", b.2);
        Text::new(label, (SegmentValue::CenterOf(i as i32), major(b.1, c) + highest * 0.03), (FAMILY, 14).into_font())
    }))?;
    root.present()?;
    Ok(())
}
