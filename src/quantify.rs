//! Volumes and the share of lung involved: the lung field ([`LungField`]) with the infection
//! added back, split into right and left lung, and infection volumes per class.

use serde::Serialize;

use crate::lung_field::LungField;
use crate::metrics::CLASS_NAMES;
use crate::volume::Volume;

/// Lung labels ([`crate::lung_field::RIGHT_LUNG`] / `LEFT_LUNG`) of the whole volume in voxel
/// order: the lung field with the infection in `labels` added back.
pub fn lung_mask(volume: &Volume, field: &LungField, labels: &[u8]) -> Vec<u8> {
    let g = &volume.geometry;
    let plane = g.dims[0] * g.dims[1];
    let mut out = Vec::with_capacity(volume.data.len());
    for k in 0..g.dims[2] {
        let inf: Vec<bool> = g
            .view
            .to_display(g.dims, &labels[k * plane..(k + 1) * plane])
            .into_iter()
            .map(|l| l != 0)
            .collect();
        out.extend(g.view.to_stored(g.dims, &field.lung_labels(k, &inf)));
    }
    out
}

#[derive(Debug, Clone, Serialize)]
pub struct Amount {
    pub voxels: u64,
    /// None when the scan records no voxel spacing.
    pub ml: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Sided {
    pub total: Amount,
    pub right: Amount,
    pub left: Amount,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClassAmount {
    pub label: u8,
    pub name: String,
    pub amount: Amount,
}

/// What the results panel and the JSON/CSV exports show.
#[derive(Debug, Clone, Serialize)]
pub struct Statistics {
    pub spacing_known: bool,
    pub voxel_ml: f64,
    pub infection: Sided,
    pub lung: Sided,
    pub classes: Vec<ClassAmount>,
    /// Infection as a percentage of lung (lung includes the infection), total / right / left.
    pub percent_involved: [f64; 3],
    /// Infected voxels in each slice, for the slice strip.
    pub infected_per_slice: Vec<u32>,
    /// Slices that hold lung; only those were segmented.
    pub lung_slices: usize,
    /// The DICOM series the scan came from (absent for NIfTI files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<crate::volume::SeriesInfo>,
}

fn amount(voxels: u64, voxel_ml: Option<f64>) -> Amount {
    Amount {
        voxels,
        ml: voxel_ml.map(|v| v * voxels as f64),
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// Statistics of `labels` (voxel order) predicted for `volume` by a model with `classes` outputs.
pub fn statistics(volume: &Volume, field: &LungField, labels: &[u8], classes: usize) -> Statistics {
    let lung = lung_mask(volume, field, labels);
    let g = &volume.geometry;
    let plane = g.dims[0] * g.dims[1];
    let ml = g.spacing_known.then(|| g.voxel_ml());
    let (mut inf, mut lungs) = ([0u64; 3], [0u64; 3]);
    let mut per_class = [0u64; 4];
    let mut infected_per_slice = vec![0u32; g.dims[2]];
    for (v, (&l, &side)) in labels.iter().zip(&lung).enumerate() {
        if side != 0 {
            lungs[0] += 1;
            lungs[side as usize] += 1;
        }
        if l != 0 {
            per_class[(l as usize).min(3)] += 1;
            infected_per_slice[v / plane] += 1;
            inf[0] += 1;
            if side != 0 {
                inf[side as usize] += 1;
            }
        }
    }
    let sided = |a: [u64; 3]| Sided {
        total: amount(a[0], ml),
        right: amount(a[1], ml),
        left: amount(a[2], ml),
    };
    let class_list = if classes == 2 {
        vec![ClassAmount {
            label: 1,
            name: "infection".into(),
            amount: amount(per_class[1], ml),
        }]
    } else {
        (1..classes.min(4))
            .map(|c| ClassAmount {
                label: c as u8,
                name: CLASS_NAMES[c - 1].into(),
                amount: amount(per_class[c], ml),
            })
            .collect()
    };
    Statistics {
        spacing_known: g.spacing_known,
        voxel_ml: g.voxel_ml(),
        infection: sided(inf),
        lung: sided(lungs),
        classes: class_list,
        percent_involved: [
            percent(inf[0], lungs[0]),
            percent(inf[1], lungs[1]),
            percent(inf[2], lungs[2]),
        ],
        infected_per_slice,
        lung_slices: field.slices_with_lung(),
        series: volume.series.clone(),
    }
}

impl Statistics {
    /// One line per figure, for the terminal.
    pub fn summary(&self) -> String {
        let fmt = |a: &Amount| match a.ml {
            Some(ml) => format!("{ml:.1} mL"),
            None => format!("{} voxels (spacing unknown)", a.voxels),
        };
        let mut s = format!(
            "infection {} (right {}, left {}); lung {}; {:.1} % of lung involved (right {:.1} %, left {:.1} %)",
            fmt(&self.infection.total),
            fmt(&self.infection.right),
            fmt(&self.infection.left),
            fmt(&self.lung.total),
            self.percent_involved[0],
            self.percent_involved[1],
            self.percent_involved[2]
        );
        for c in &self.classes {
            s.push_str(&format!("\n  {}: {}", c.name, fmt(&c.amount)));
        }
        s.push_str(&format!(
            "\n  lung in {} of {} slices",
            self.lung_slices,
            self.infected_per_slice.len()
        ));
        s
    }

    /// The statistics as CSV (one row per measure).
    pub fn to_csv(&self) -> String {
        let ml = |a: &Amount| a.ml.map(|v| format!("{v:.3}")).unwrap_or_default();
        // The series goes in comment lines above the table, so the table stays rectangular.
        let mut s = match &self.series {
            Some(series) => format!(
                "# series_uid,{}\n# series_description,\"{}\"\n",
                series.uid,
                series.description.replace('"', "\"\"")
            ),
            None => String::new(),
        };
        s.push_str("measure,voxels,ml\n");
        let mut row =
            |name: &str, a: &Amount| s.push_str(&format!("{name},{},{}\n", a.voxels, ml(a)));
        row("infection_total", &self.infection.total);
        row("infection_right", &self.infection.right);
        row("infection_left", &self.infection.left);
        row("lung_total", &self.lung.total);
        row("lung_right", &self.lung.right);
        row("lung_left", &self.lung.left);
        for c in &self.classes {
            row(&c.name, &c.amount);
        }
        s.push_str(&format!(
            "percent_involved_total,,{:.3}\npercent_involved_right,,{:.3}\npercent_involved_left,,{:.3}\n",
            self.percent_involved[0], self.percent_involved[1], self.percent_involved[2]
        ));
        s
    }
}
