//! `scans`: every real scan at hand, one table. For each scan: the slices that hold lung, lung
//! volume (and its error and Dice against reference lung labels where there are some), the
//! infection flagged (mL and % of lung), and per-volume Dice where an infection reference exists.
//! The shared scans hold no COVID except MedSeg, so on them every flagged mL is a false alarm.

use anyhow::Context;
use std::path::{Path, PathBuf};

use clap::Args;
use lungseg::intensity::{detect, lung_window};
use lungseg::lung_field::{LEFT_LUNG, LungField, RIGHT_LUNG};
use lungseg::metrics::Confusion;
use lungseg::pipeline::{SegmentOptions, segment_slices};
use lungseg::quantify::{lung_mask, statistics};
use lungseg::volume::{Volume, read_nifti};
use serde::Serialize;

use crate::backend;
use crate::inputs::{load_inference, read_input};

#[derive(Args, Debug)]
pub struct ScansArgs {
    #[arg(long, default_value_os_t = crate::paths::default_model())]
    pub model: PathBuf,
    /// More scans: NIfTI files or DICOM folders (no reference).
    pub extra: Vec<PathBuf>,
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[arg(long, default_value = "flex")]
    pub backend: String,
    #[arg(long, default_value_t = 4)]
    pub batch: usize,
    #[arg(long)]
    pub tta: bool,
}

/// Reference lung labels for a scan: a label volume covering slices `z0..`, with the labels
/// that are the right and the left lung.
struct LungReference {
    path: PathBuf,
    z0: usize,
    right: &'static [i32],
    left: &'static [i32],
}

struct Scan {
    name: String,
    path: PathBuf,
    /// What the scan is, for the reader of the table.
    note: &'static str,
    lungs: Option<LungReference>,
    /// Infection labels (0/1 voxel order) where the scan has them.
    infection: Option<PathBuf>,
}

#[derive(Serialize)]
struct Row {
    scan: String,
    note: String,
    slices: usize,
    lung_slices: usize,
    lung_ml: f64,
    reference_lung_ml: Option<f64>,
    lung_error_percent: Option<f64>,
    lung_dice: Option<[f64; 3]>,
    infection_ml: f64,
    percent_involved: f64,
    infection_dice: Option<f64>,
}

fn shared_scans() -> Vec<Scan> {
    let data = PathBuf::from(lungseg::SHARED_DATA);
    let f = |p: &str| data.join(p);
    vec![
        Scan {
            name: "totalseg_abdomen_3mm_hu".into(),
            path: f("fixtures/totalseg_abdomen_3mm_hu.nii.gz"),
            note: "pelvis to lung bases, 3 mm, no COVID",
            lungs: Some(LungReference {
                path: f("fixtures/totalseg_abdomen_3mm_top30_labels.nii.gz"),
                z0: 82,
                right: &[12, 13, 14],
                left: &[10, 11],
            }),
            infection: None,
        },
        Scan {
            name: "lidc_chest_2slices_hu".into(),
            path: f("fixtures/lidc_chest_2slices_hu.nii.gz"),
            note: "chest, nodule study, no COVID",
            lungs: None,
            infection: None,
        },
        Scan {
            name: "pydicom_CT_small".into(),
            path: f("fixtures/pydicom_CT_small.dcm"),
            note: "one 128² DICOM CT slice, no COVID",
            lungs: None,
            infection: None,
        },
        Scan {
            name: "medseg (52 slices)".into(),
            path: f("medseg/train/image.nii.gz"),
            note: "COVID, 8-bit windowed; the shipped model trained on 41 of these slices",
            lungs: None,
            infection: Some(f("medseg/train/mask_binary.nii.gz")),
        },
    ]
}

fn read_labels(path: &Path) -> anyhow::Result<Volume> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    read_nifti(&bytes).with_context(|| format!("reading {}", path.display()))
}

pub fn scans(a: ScansArgs) -> anyhow::Result<()> {
    let device = backend::device(&a.backend)?;
    let (model, card) = load_inference(&a.model, &device)?;
    let mut list = shared_scans();
    list.extend(a.extra.iter().map(|p| Scan {
        name: p.display().to_string(),
        path: p.clone(),
        note: "given",
        lungs: None,
        infection: None,
    }));
    let mut rows = Vec::new();
    for scan in &list {
        let volume = read_input(&scan.path, None)?;
        let mapping = detect(&volume, lung_window()).with_context(|| scan.name.clone())?;
        let field = LungField::of(&volume, &mapping);
        let nz = volume.dims()[2];
        let options = SegmentOptions {
            batch: a.batch,
            tta: a.tta,
        };
        let (labels, _) = segment_slices(
            &model,
            &card.config,
            &volume,
            &field,
            0..nz,
            options,
            &device,
        );
        let stats = statistics(&volume, &field, &labels, card.config.classes);
        let ml = volume.geometry.voxel_ml();
        let mut row = Row {
            scan: scan.name.clone(),
            note: scan.note.into(),
            slices: nz,
            lung_slices: stats.lung_slices,
            lung_ml: stats.lung.total.voxels as f64 * ml,
            reference_lung_ml: None,
            lung_error_percent: None,
            lung_dice: None,
            infection_ml: stats.infection.total.voxels as f64 * ml,
            percent_involved: stats.percent_involved[0],
            infection_dice: None,
        };
        if let Some(r) = &scan.lungs {
            let reference = read_labels(&r.path)?;
            let ours = lung_mask(&volume, &field, &labels);
            let plane = volume.dims()[0] * volume.dims()[1];
            let side = |v: f32| {
                let v = v.round() as i32;
                if r.right.contains(&v) {
                    RIGHT_LUNG
                } else if r.left.contains(&v) {
                    LEFT_LUNG
                } else {
                    0
                }
            };
            let truth: Vec<u8> = reference.data.iter().map(side).collect();
            let ours = &ours[r.z0 * plane..r.z0 * plane + truth.len()];
            let dice = |s: Option<u8>| {
                let on = |l: u8| u8::from(l != 0 && s.is_none_or(|s| l == s));
                let p: Vec<u8> = ours.iter().map(|&l| on(l)).collect();
                let t: Vec<u8> = truth.iter().map(|&l| on(l)).collect();
                Confusion::binary(&p, &t).dice()
            };
            let reference_ml = truth.iter().filter(|&&l| l != 0).count() as f64 * ml;
            row.reference_lung_ml = Some(reference_ml);
            row.lung_error_percent = Some(100.0 * (row.lung_ml - reference_ml) / reference_ml);
            row.lung_dice = Some([dice(None), dice(Some(RIGHT_LUNG)), dice(Some(LEFT_LUNG))]);
        }
        if let Some(p) = &scan.infection {
            let truth: Vec<u8> = read_labels(p)?
                .data
                .iter()
                .map(|v| u8::from(v > 0.5))
                .collect();
            row.infection_dice = Some(Confusion::binary(&labels, &truth).dice());
        }
        rows.push(row);
    }
    println!(
        "| scan | what it is | slices with lung | lung mL | reference lung mL (error) | lung Dice both / right / left | infection flagged | % of lung | infection Dice (volume) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let opt = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map(f).unwrap_or_else(|| "–".into());
    for r in &rows {
        println!(
            "| {} | {} | {} of {} | {:.1} | {} | {} | {:.1} mL | {:.1} % | {} |",
            r.scan,
            r.note,
            r.lung_slices,
            r.slices,
            r.lung_ml,
            match (r.reference_lung_ml, r.lung_error_percent) {
                (Some(m), Some(e)) => format!("{m:.1} ({e:+.1} %)"),
                _ => "–".into(),
            },
            r.lung_dice
                .map(|d| format!("{:.3} / {:.3} / {:.3}", d[0], d[1], d[2]))
                .unwrap_or_else(|| "–".into()),
            r.infection_ml,
            r.percent_involved,
            opt(r.infection_dice, &|d| format!("{d:.3}")),
        );
    }
    if let Some(path) = a.json {
        let text = serde_json::to_string_pretty(&rows)?;
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
