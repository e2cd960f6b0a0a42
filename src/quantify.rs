//! Volumes and the share of lung involved: a classical lung-field mask (air threshold, body
//! outside removed, small components dropped, holes filled, infection added back), split into
//! right and left lung, and infection volumes per class.

use serde::Serialize;

use crate::edt::edt;
use crate::intensity::IntensityMapping;
use crate::metrics::CLASS_NAMES;
use crate::volume::Volume;

/// Voxels below this many HU are air or lung parenchyma.
pub const LUNG_HU: f32 = -320.0;
/// Components smaller than this (mm²) are airways, bowel gas or noise, not lung.
const MIN_COMPONENT_MM2: f64 = 100.0;
/// Spacing assumed when the file records none (typical CT in-plane spacing).
const FALLBACK_SPACING_MM: f64 = 0.7;
/// How far from the aerated lung (mm) a predicted region may lie and still be the lung's: pleural
/// effusion lies against the lung, not in it, often behind a rim of collapsed lung.
const LUNG_MARGIN_MM: f64 = 5.0;

/// Lung label of a voxel.
pub const RIGHT_LUNG: u8 = 1;
pub const LEFT_LUNG: u8 = 2;

/// 4-connected components of `mask` (row-major h × w): (component id per pixel or u32::MAX, sizes).
pub fn components(mask: &[bool], h: usize, w: usize) -> (Vec<u32>, Vec<usize>) {
    let mut id = vec![u32::MAX; h * w];
    let mut sizes = Vec::new();
    let mut stack = Vec::new();
    for start in 0..h * w {
        if !mask[start] || id[start] != u32::MAX {
            continue;
        }
        let c = sizes.len() as u32;
        let mut size = 0;
        id[start] = c;
        stack.push(start);
        while let Some(p) = stack.pop() {
            size += 1;
            let (r, col) = (p / w, p % w);
            let mut visit = |q: usize| {
                if mask[q] && id[q] == u32::MAX {
                    id[q] = c;
                    stack.push(q);
                }
            };
            if r > 0 {
                visit(p - w);
            }
            if r + 1 < h {
                visit(p + w);
            }
            if col > 0 {
                visit(p - 1);
            }
            if col + 1 < w {
                visit(p + 1);
            }
        }
        sizes.push(size);
    }
    (id, sizes)
}

/// Pixels of `mask` connected to the image border.
fn touching_border(mask: &[bool], h: usize, w: usize) -> Vec<bool> {
    let (id, sizes) = components(mask, h, w);
    let mut border = vec![false; sizes.len()];
    for r in 0..h {
        for c in 0..w {
            if (r == 0 || c == 0 || r + 1 == h || c + 1 == w) && id[r * w + c] != u32::MAX {
                border[id[r * w + c] as usize] = true;
            }
        }
    }
    id.iter()
        .map(|&i| i != u32::MAX && border[i as usize])
        .collect()
}

/// Clears predicted regions that do not reach the slice's own lung field ([`lung_slice`] of the
/// image alone, widened by `LUNG_MARGIN_MM`): infection lies in the lung, and regions apart
/// from it are burned-in text, the table, bowel or chest wall. A region is kept whole, leaks
/// included, so that one reaching the edge of the field of view is not lost with the lesion it
/// belongs to.
pub fn keep_lung_regions(labels: &mut [u8], hu: &[f32], h: usize, w: usize, pixel_mm2: f64) {
    let outside: Vec<bool> = lung_slice(hu, &vec![false; h * w], h, w, pixel_mm2)
        .iter()
        .map(|&l| l == 0)
        .collect();
    let any: Vec<bool> = labels.iter().map(|&l| l != 0).collect();
    let (id, sizes) = components(&any, h, w);
    let mut in_lung = vec![false; sizes.len()];
    for (&c, &o) in id.iter().zip(&outside) {
        if c != u32::MAX && !o {
            in_lung[c as usize] = true;
        }
    }
    if in_lung.iter().any(|&i| !i) {
        // Distance (pixels) to the lung field; with no field at all, h + w everywhere.
        let distance = edt(&outside, h, w);
        let reach = (LUNG_MARGIN_MM / pixel_mm2.sqrt()) as f32;
        for (&c, &d) in id.iter().zip(&distance) {
            if c != u32::MAX && d <= reach {
                in_lung[c as usize] = true;
            }
        }
    }
    for (l, &c) in labels.iter_mut().zip(&id) {
        if c != u32::MAX && !in_lung[c as usize] {
            *l = 0;
        }
    }
}

/// The displayed slice `k` of `volume` in HU (row-major, as shown).
pub fn display_hu(volume: &Volume, mapping: &IntensityMapping, k: usize) -> Vec<f32> {
    let g = &volume.geometry;
    g.view
        .to_display(g.dims, volume.slice(k))
        .into_iter()
        .map(|v| mapping.to_hu(v))
        .collect()
}

/// In-plane pixel area (mm²), or the typical CT one when the file records no spacing.
pub fn pixel_mm2(volume: &Volume) -> f64 {
    let g = &volume.geometry;
    if g.spacing_known {
        g.spacing[0] as f64 * g.spacing[1] as f64
    } else {
        FALLBACK_SPACING_MM.powi(2)
    }
}

/// Lung field of one displayed slice (row-major h × w, values in HU), with `infection` added back:
/// 0 outside, [`RIGHT_LUNG`] on the viewer's left half of the body, [`LEFT_LUNG`] on its right.
pub fn lung_slice(hu: &[f32], infection: &[bool], h: usize, w: usize, pixel_mm2: f64) -> Vec<u8> {
    let air: Vec<bool> = hu.iter().map(|&v| v < LUNG_HU).collect();
    let outside = touching_border(&air, h, w);
    let inner: Vec<bool> = air.iter().zip(&outside).map(|(&a, &o)| a && !o).collect();
    let (id, sizes) = components(&inner, h, w);
    let min_px = (MIN_COMPONENT_MM2 / pixel_mm2).ceil() as usize;
    let mut lung: Vec<bool> = id
        .iter()
        .zip(infection)
        .map(|(&i, &inf)| inf || (i != u32::MAX && sizes[i as usize] >= min_px))
        .collect();
    // Fill holes (vessels, nodules, dense infection): what is not lung and not reachable from the border.
    let not_lung: Vec<bool> = lung.iter().map(|l| !l).collect();
    let reachable = touching_border(&not_lung, h, w);
    for (l, (&n, &r)) in lung.iter_mut().zip(not_lung.iter().zip(&reachable)) {
        if n && !r {
            *l = true;
        }
    }
    // Midline: centre of the body (everything not outside air) along the columns.
    let (mut lo, mut hi) = (w, 0);
    for r in 0..h {
        for c in 0..w {
            if !outside[r * w + c] {
                lo = lo.min(c);
                hi = hi.max(c);
            }
        }
    }
    let mid = if lo <= hi {
        (lo + hi) as f64 / 2.0
    } else {
        w as f64 / 2.0
    };
    lung.iter()
        .enumerate()
        .map(|(p, &l)| match (l, ((p % w) as f64) < mid) {
            (false, _) => 0,
            (true, true) => RIGHT_LUNG,
            (true, false) => LEFT_LUNG,
        })
        .collect()
}

/// Lung labels of the whole volume in voxel order.
pub fn lung_mask(volume: &Volume, mapping: &IntensityMapping, labels: &[u8]) -> Vec<u8> {
    let g = &volume.geometry;
    let [h, w] = g.view.display_size(g.dims);
    let plane = g.dims[0] * g.dims[1];
    let mm = pixel_mm2(volume);
    let mut out = Vec::with_capacity(volume.data.len());
    for k in 0..g.dims[2] {
        let hu = display_hu(volume, mapping, k);
        let inf: Vec<bool> = g
            .view
            .to_display(g.dims, &labels[k * plane..(k + 1) * plane])
            .into_iter()
            .map(|l| l != 0)
            .collect();
        out.extend(g.view.to_stored(g.dims, &lung_slice(&hu, &inf, h, w, mm)));
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
pub fn statistics(
    volume: &Volume,
    mapping: &IntensityMapping,
    labels: &[u8],
    classes: usize,
) -> Statistics {
    let lung = lung_mask(volume, mapping, labels);
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
