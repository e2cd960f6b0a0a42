//! The lung field: where the lungs are. "% of lung involved" divides by it, infection is kept
//! to it, and a slice without it is not sent to the model.
//!
//! On a scan in Hounsfield units the field is built in 3-D, as classical lung CAD does: air
//! inside the body (below `LUNG_HU`, not connected to the air around the patient) split into
//! components connected across slices; lungs are the large components of aerated *tissue*,
//! while bowel and stomach gas, which is mostly pure air, are dropped, and so is the trachea,
//! a small central tube of pure air. On 8-bit windowed slices (JPEG exports, no HU and no
//! neighbours to trust) each slice is read alone, as before.

use crate::edt::edt;
use crate::intensity::{IntensityKind, IntensityMapping};
use crate::volume::Volume;

/// Voxels below this many HU are air or lung parenchyma.
pub const LUNG_HU: f32 = -320.0;
/// Below this many HU a voxel is air, not aerated tissue (the usual emphysema cut-off).
const AIR_HU: f32 = -950.0;
/// A 3-D component more than this share of air voxels is gas in the bowel or stomach: lung is
/// tissue with air in it (well under a third below −950 HU even in severe emphysema, none in
/// the shared chest scans) where gas is pure air apart from its walls (57–67 % in the 3 mm
/// abdomen here, more at thinner slices).
const GAS_AIR_SHARE: f64 = 0.45;
/// Lung components are at least this large (mL) ...
const MIN_LUNG_ML: f64 = 10.0;
/// ... or, in a thin slab, cover at least this area (mm²) per mm of the slab's height.
const MIN_LUNG_AREA_MM2: f64 = 1000.0;
/// Components smaller than this (mm²) in a windowed slice are airways, bowel gas or noise.
const MIN_COMPONENT_MM2: f64 = 100.0;
/// A slice's piece of the field at most this large (mm²), mostly air and near the midline is
/// the trachea or a main bronchus, not lung.
const AIRWAY_MAX_MM2: f64 = 700.0;
/// "Near the midline": within this share of the body's width from it.
const AIRWAY_MIDLINE_SHARE: f64 = 0.15;
/// Spacing assumed when the file records none (typical CT in-plane spacing).
const FALLBACK_SPACING_MM: f64 = 0.7;
/// How far from the lung field (mm) a predicted region may lie and still be the lung's: pleural
/// effusion lies against the lung, not in it, often behind a rim of collapsed lung.
const LUNG_MARGIN_MM: f64 = 5.0;

/// Lung label of a voxel.
pub const RIGHT_LUNG: u8 = 1;
pub const LEFT_LUNG: u8 = 2;

/// The lung field of a scan, slice by slice in display order (row-major h × w per slice).
pub struct LungField {
    h: usize,
    w: usize,
    /// One bit per displayed voxel, slice after slice: lung or not (for a 600-slice scan 19 MB,
    /// where a byte per voxel would be 150 MB beside the scan).
    lung: Vec<u64>,
    /// Whether each displayed slice holds any lung.
    with_lung: Vec<bool>,
    /// First and last display column of the body in each slice; the patient's right lung lies
    /// left of their midpoint.
    body: Vec<[f64; 2]>,
    /// Whether the field was built in 3-D from HU (else slice by slice).
    pub three_d: bool,
    /// How the scan's values were read as HU, which is how the model reads them too.
    pub mapping: IntensityMapping,
}

impl LungField {
    pub fn of(volume: &Volume, mapping: &IntensityMapping) -> Self {
        let g = &volume.geometry;
        let [h, w] = g.view.display_size(g.dims);
        let nz = g.dims[2];
        let mm2 = pixel_mm2(volume);
        let three_d = mapping.kind == IntensityKind::Hounsfield;
        let plane = h * w;
        // Four bits a voxel while it is built (see `Scratch`), one bit once built.
        let mut scratch = if three_d {
            Scratch::new(plane * nz)
        } else {
            Scratch::new(0)
        };
        let mut lung = vec![0u64; (plane * nz).div_ceil(64)];
        let mut with_lung = vec![false; nz];
        let mut keep = |k: usize, field: &[bool]| {
            for (p, _) in field.iter().enumerate().filter(|(_, l)| **l) {
                let i = k * plane + p;
                lung[i / 64] |= 1 << (i % 64);
                with_lung[k] = true;
            }
        };
        let mut body = Vec::with_capacity(nz);
        for k in 0..nz {
            let hu = display_hu(volume, mapping, k);
            let air: Vec<bool> = hu.iter().map(|&v| v < LUNG_HU).collect();
            let outside = touching_border(&air, h, w);
            body.push(body_extent(&outside, w));
            let inner: Vec<bool> = air.iter().zip(&outside).map(|(&a, &o)| a && !o).collect();
            if three_d {
                // Bit 0: inside air; bit 1: pure air. Components are chosen below, in 3-D.
                for (p, (&i, &v)) in inner.iter().zip(&hu).enumerate() {
                    if i {
                        scratch.or(k * plane + p, 1 | (u8::from(v < AIR_HU) << 1));
                    }
                }
            } else {
                let (id, sizes) = components(&inner, h, w);
                let min_px = (MIN_COMPONENT_MM2 / mm2).ceil() as usize;
                let field: Vec<bool> = id
                    .iter()
                    .map(|&i| i != u32::MAX && sizes[i as usize] >= min_px)
                    .collect();
                keep(k, &fill_holes(field, h, w));
            }
        }
        if three_d {
            let voxel_mm3 = mm2
                * if g.spacing_known {
                    g.spacing[2] as f64
                } else {
                    FALLBACK_SPACING_MM
                };
            let height_mm = voxel_mm3 / mm2 * nz as f64;
            let min_mm3 = (MIN_LUNG_ML * 1000.0).min(MIN_LUNG_AREA_MM2 * height_mm);
            keep_lung_components(&mut scratch, h, w, (min_mm3 / voxel_mm3).ceil() as u64);
            let mut slice = vec![0u8; plane];
            for (k, &extent) in body.iter().enumerate() {
                for (p, m) in slice.iter_mut().enumerate() {
                    *m = scratch.get(k * plane + p);
                }
                drop_airways(&mut slice, h, w, extent, mm2);
                let field: Vec<bool> = slice.iter().map(|&m| m != 0).collect();
                keep(k, &fill_holes(field, h, w));
            }
        }
        Self {
            h,
            w,
            lung,
            with_lung,
            body,
            three_d,
            mapping: *mapping,
        }
    }
}

/// Keeps the 3-D (6-connected) components of inside air (`mask` bit 0, display order, h × w
/// slices) with at least `min_voxels` voxels and no more than `GAS_AIR_SHARE` of pure air
/// (bit 1); other voxels become 0.
fn keep_lung_components(mask: &mut Scratch, h: usize, w: usize, min_voxels: u64) {
    const VISITED: u8 = 4;
    const KEEP: u8 = 8;
    let plane = h * w;
    let n = mask.len();
    let mut stack: Vec<usize> = Vec::new();
    let neighbours = |p: usize, out: &mut [usize; 6]| -> usize {
        let (k, r, c) = (p / plane, p % plane / w, p % w);
        let mut m = 0;
        for (ok, q) in [
            (c > 0, p.wrapping_sub(1)),
            (c + 1 < w, p + 1),
            (r > 0, p.wrapping_sub(w)),
            (r + 1 < h, p + w),
            (k > 0, p.wrapping_sub(plane)),
            (p + plane < n, p + plane),
        ] {
            if ok {
                out[m] = q;
                m += 1;
            }
        }
        m
    };
    let mut near = [0usize; 6];
    for start in 0..n {
        if mask.get(start) & 1 == 0 || mask.get(start) & VISITED != 0 {
            continue;
        }
        // First pass: size and share of pure air.
        let (mut size, mut air) = (0u64, 0u64);
        mask.or(start, VISITED);
        stack.push(start);
        while let Some(p) = stack.pop() {
            size += 1;
            air += u64::from(mask.get(p) >> 1 & 1);
            let m = neighbours(p, &mut near);
            for &q in &near[..m] {
                if mask.get(q) & 1 != 0 && mask.get(q) & VISITED == 0 {
                    mask.or(q, VISITED);
                    stack.push(q);
                }
            }
        }
        if size < min_voxels || air as f64 > GAS_AIR_SHARE * size as f64 {
            continue;
        }
        // Second pass: mark it kept.
        mask.or(start, KEEP);
        stack.push(start);
        while let Some(p) = stack.pop() {
            let m = neighbours(p, &mut near);
            for &q in &near[..m] {
                if mask.get(q) & 1 != 0 && mask.get(q) & KEEP == 0 {
                    mask.or(q, KEEP);
                    stack.push(q);
                }
            }
        }
    }
    // Bit 1 (pure air) is kept on lung voxels for the airway test.
    mask.map(|m| if m & KEEP != 0 { 1 | (m & 2) } else { 0 });
}

/// Four bits per voxel, two voxels a byte: the 3-D field's working flags while it is built (75 MB
/// for a 600-slice scan, where a byte per voxel was 150 MB at the peak of opening).
struct Scratch {
    nibbles: Vec<u8>,
    len: usize,
}

impl Scratch {
    fn new(len: usize) -> Self {
        Scratch {
            nibbles: vec![0; len.div_ceil(2)],
            len,
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn get(&self, i: usize) -> u8 {
        self.nibbles[i / 2] >> (i % 2 * 4) & 15
    }

    fn or(&mut self, i: usize, bits: u8) {
        self.nibbles[i / 2] |= (bits & 15) << (i % 2 * 4);
    }

    /// Replaces every voxel's flags `m` by `f(m)` (`f(0)` must be 0: the odd end's padding).
    fn map(&mut self, f: impl Fn(u8) -> u8) {
        for b in &mut self.nibbles {
            *b = f(*b & 15) | f(*b >> 4) << 4;
        }
    }
}

/// Clears the pieces of one slice's field (`plane`, h × w; bit 1 = pure air) that are small,
/// mostly pure air and central in the body (`[lo, hi]` its columns): the trachea and main
/// bronchi where they run apart from the lungs.
fn drop_airways(plane: &mut [u8], h: usize, w: usize, [lo, hi]: [f64; 2], pixel_mm2: f64) {
    let lung: Vec<bool> = plane.iter().map(|&m| m != 0).collect();
    let (id, sizes) = components(&lung, h, w);
    if sizes.is_empty() {
        return;
    }
    let (mut air, mut col_sum) = (vec![0usize; sizes.len()], vec![0f64; sizes.len()]);
    for (p, &c) in id.iter().enumerate() {
        if c != u32::MAX {
            air[c as usize] += usize::from(plane[p] & 2 != 0);
            col_sum[c as usize] += (p % w) as f64;
        }
    }
    let mid = (lo + hi) / 2.0;
    let airway: Vec<bool> = (0..sizes.len())
        .map(|c| {
            let centre = col_sum[c] / sizes[c] as f64;
            sizes[c] as f64 * pixel_mm2 <= AIRWAY_MAX_MM2
                && air[c] * 2 > sizes[c]
                && (centre - mid).abs() <= AIRWAY_MIDLINE_SHARE * (hi - lo)
        })
        .collect();
    for (m, &c) in plane.iter_mut().zip(&id) {
        if c != u32::MAX && airway[c as usize] {
            *m = 0;
        } else {
            *m &= 1;
        }
    }
}

impl LungField {
    /// Whether displayed slice `k` holds any lung.
    pub fn has_lung(&self, k: usize) -> bool {
        self.with_lung[k]
    }

    /// How many slices hold lung.
    pub fn slices_with_lung(&self) -> usize {
        self.with_lung.iter().filter(|&&l| l).count()
    }

    /// The field of displayed slice `k` (row-major h × w).
    pub fn slice(&self, k: usize) -> Vec<bool> {
        let plane = self.h * self.w;
        (k * plane..(k + 1) * plane)
            .map(|i| self.lung[i / 64] >> (i % 64) & 1 != 0)
            .collect()
    }

    /// Lung labels of displayed slice `k` with `infection` added back (dense lung, consolidation
    /// and effusion the air threshold misses) and holes filled: 0 outside, [`RIGHT_LUNG`] on the
    /// viewer's left of the body's midline, [`LEFT_LUNG`] on its right.
    pub fn lung_labels(&self, k: usize, infection: &[bool]) -> Vec<u8> {
        let (h, w) = (self.h, self.w);
        let lung: Vec<bool> = self
            .slice(k)
            .into_iter()
            .zip(infection)
            .map(|(m, &i)| m || i)
            .collect();
        let [lo, hi] = self.body[k];
        let mid = (lo + hi) / 2.0;
        fill_holes(lung, h, w)
            .into_iter()
            .enumerate()
            .map(|(p, l)| match (l, ((p % w) as f64) < mid) {
                (false, _) => 0,
                (true, true) => RIGHT_LUNG,
                (true, false) => LEFT_LUNG,
            })
            .collect()
    }

    /// Clears predicted regions of displayed slice `k` that do not reach its lung field (widened
    /// by `LUNG_MARGIN_MM`): infection lies in the lung, and regions apart from it are bowel,
    /// burned-in text, the table or chest wall. A region is kept whole, leaks included, so that
    /// one reaching the edge of the field of view is not lost with the lesion it belongs to.
    pub fn keep_lung_regions(&self, labels: &mut [u8], k: usize, pixel_mm2: f64) {
        keep_lung_regions(labels, &self.slice(k), self.h, self.w, pixel_mm2);
    }
}

/// [`LungField::keep_lung_regions`] for one slice's field, given as a row-major h × w mask.
pub fn keep_lung_regions(labels: &mut [u8], field: &[bool], h: usize, w: usize, pixel_mm2: f64) {
    let outside: Vec<bool> = field.iter().map(|&l| !l).collect();
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
        .to_display(g.dims, &volume.slice(k))
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

/// `lung` with its holes (vessels, nodules, dense infection) filled: what is not lung and not
/// reachable from the border.
fn fill_holes(mut lung: Vec<bool>, h: usize, w: usize) -> Vec<bool> {
    let not_lung: Vec<bool> = lung.iter().map(|l| !l).collect();
    let reachable = touching_border(&not_lung, h, w);
    for (l, (&n, &r)) in lung.iter_mut().zip(not_lung.iter().zip(&reachable)) {
        if n && !r {
            *l = true;
        }
    }
    lung
}

/// First and last column of the body (everything not outside air); the whole width when the
/// slice holds no body.
fn body_extent(outside: &[bool], w: usize) -> [f64; 2] {
    let (mut lo, mut hi) = (w, 0);
    for (p, &o) in outside.iter().enumerate() {
        if !o {
            lo = lo.min(p % w);
            hi = hi.max(p % w);
        }
    }
    if lo <= hi {
        [lo as f64, hi as f64]
    } else {
        [0.0, w as f64]
    }
}

#[cfg(test)]
mod tests {
    use super::Scratch;

    #[test]
    fn scratch_keeps_four_bits_per_voxel_apart() {
        // An odd count: the last voxel shares its byte with padding.
        let mut s = Scratch::new(5);
        assert_eq!(s.len(), 5);
        s.or(0, 1);
        s.or(1, 2 | 8);
        s.or(4, 15);
        s.or(1, 4);
        assert_eq!(
            (0..5).map(|i| s.get(i)).collect::<Vec<_>>(),
            [1, 14, 0, 0, 15]
        );
        s.map(|m| if m & 8 != 0 { 1 | (m & 2) } else { 0 });
        assert_eq!(
            (0..5).map(|i| s.get(i)).collect::<Vec<_>>(),
            [0, 3, 0, 0, 3]
        );
    }
}
