//! Whether the model sees the same tones on real HU scans as on the MedSeg JPEG slices it trained
//! on: for each scan, the model input (0–255, through `model_input`'s mapping: the lung window for
//! HU, the stored value for 8-bit) of air outside the body, lung parenchyma (the lung field, less
//! any annotated infection) and soft tissue (the body less the lung field and the air inside it:
//! muscle, fat, organs, bone), as percentiles and the soft tissue's most common value.
//!
//! `cargo run --release -p native-train -- experiment tones [SCAN.nii.gz ...]` (the shared HU
//! fixtures and MedSeg when none is given)

use anyhow::Context;
use lungseg::intensity::{detect, lung_window};
use lungseg::lung_field::{LUNG_HU, LungField, components, display_hu};
use lungseg::volume::{Volume, read_nifti};
use std::path::PathBuf;

use super::common;

/// Pixels of `mask` connected to the slice's border (row-major h × w).
fn touching_border(mask: &[bool], h: usize, w: usize) -> Vec<bool> {
    let (id, sizes) = components(mask, h, w);
    let mut border = vec![false; sizes.len()];
    for (p, &c) in id.iter().enumerate() {
        let (r, col) = (p / w, p % w);
        if c != u32::MAX && (r == 0 || col == 0 || r + 1 == h || col + 1 == w) {
            border[c as usize] = true;
        }
    }
    id.iter()
        .map(|&c| c != u32::MAX && border[c as usize])
        .collect()
}

/// 256-bin histograms of one scan's model input in the three regions.
struct Tones {
    air: Vec<u64>,
    lung: Vec<u64>,
    soft: Vec<u64>,
}

fn tones(volume: &Volume, infection: Option<&Volume>) -> anyhow::Result<(Tones, &'static str)> {
    let mapping = detect(volume, lung_window())?;
    let field = LungField::of(volume, &mapping);
    let g = &volume.geometry;
    let [h, w] = g.view.display_size(g.dims);
    let mut t = Tones {
        air: vec![0; 256],
        lung: vec![0; 256],
        soft: vec![0; 256],
    };
    for k in (0..g.dims[2]).filter(|&k| field.has_lung(k)) {
        let hu = display_hu(volume, &mapping, k);
        let air: Vec<bool> = hu.iter().map(|&v| v < LUNG_HU).collect();
        let outside = touching_border(&air, h, w);
        let lung = field.slice(k);
        let infected = infection.map(|m| g.view.to_display(g.dims, &m.slice(k)));
        for p in 0..h * w {
            // The model's input value, on the 0–255 scale of the training JPEGs.
            let bin = (lung_window().apply(hu[p]) * 255.0).round() as usize;
            let into = if outside[p] {
                &mut t.air
            } else if lung[p] {
                if infected.as_ref().is_some_and(|m| m[p] > 0.5) {
                    continue;
                }
                &mut t.lung
            } else if air[p] {
                continue;
            } else {
                &mut t.soft
            };
            into[bin] += 1;
        }
    }
    let kind = if field.three_d {
        "HU (lung window)"
    } else {
        "8-bit"
    };
    Ok((t, kind))
}

/// "p5 / p50 / p95" of a histogram; "–" when empty.
fn percentiles(hist: &[u64]) -> String {
    let n: u64 = hist.iter().sum();
    if n == 0 {
        return "–".into();
    }
    let at = |q: f64| {
        let want = (q * n as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        hist.iter()
            .position(|&c| {
                seen += c;
                seen >= want
            })
            .unwrap_or(255)
    };
    format!("{} / {} / {}", at(0.05), at(0.5), at(0.95))
}

fn mode(hist: &[u64]) -> String {
    match hist.iter().enumerate().max_by_key(|(_, c)| **c) {
        Some((v, &c)) if c > 0 => v.to_string(),
        _ => "–".into(),
    }
}

fn read(path: &PathBuf) -> anyhow::Result<Volume> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    read_nifti(&bytes).with_context(|| format!("reading {}", path.display()))
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let shared = PathBuf::from(lungseg::SHARED_DATA);
    let mut scans: Vec<(String, Volume, Option<Volume>)> = Vec::new();
    if args.is_empty() {
        let medseg = common::medseg()?;
        let infection = read(&shared.join("medseg/train/mask_binary.nii.gz"))?;
        scans.push((
            "MedSeg (52 JPEG slices)".into(),
            medseg.image,
            Some(infection),
        ));
        for name in [
            "lidc_chest_2slices_hu.nii.gz",
            "totalseg_abdomen_3mm_hu.nii.gz",
        ] {
            let path = shared.join("fixtures").join(name);
            scans.push((name.into(), read(&path)?, None));
        }
    } else {
        for a in args {
            scans.push((a.clone(), read(&PathBuf::from(a))?, None));
        }
    }
    println!(
        "| scan | values | air outside the body: p5 / p50 / p95 | lung parenchyma | soft tissue | soft tissue's most common value |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, volume, infection) in &scans {
        let (t, kind) = tones(volume, infection.as_ref())?;
        println!(
            "| {name} | {kind} | {} | {} | {} | {} |",
            percentiles(&t.air),
            percentiles(&t.lung),
            percentiles(&t.soft),
            mode(&t.soft)
        );
    }
    Ok(())
}
