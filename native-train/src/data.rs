//! A labelled data folder (the layout of `shared/data/medseg/train`) and group-aware splits.
//!
//! `image.nii.gz` (8-bit or HU), `mask_binary.nii.gz` (0/1), `mask_classes.nii.gz`
//! (0 background, 1 ground-glass, 2 consolidation, 3 effusion, 255 unknown subtype) and
//! optionally `slices.csv` (z, medseg_index, similarity_group, …).

use std::path::{Path, PathBuf};

use lungseg::intensity::{IntensityMapping, detect, lung_window};
use lungseg::lung_field::LungField;
use lungseg::metrics::IGNORE;
use lungseg::model::FfrNetConfig;
use lungseg::resample::{resize_bilinear, resize_nearest};
use lungseg::volume::{Volume, read_nifti};

use crate::rng::Rng;

#[derive(Debug, thiserror::Error)]
#[error("{}: {problem}", file.display())]
pub struct DataError {
    pub file: PathBuf,
    pub problem: String,
}

pub(crate) fn err(file: &Path, problem: impl Into<String>) -> DataError {
    DataError {
        file: file.to_path_buf(),
        problem: problem.into(),
    }
}

pub struct LabelledData {
    pub dir: PathBuf,
    pub image: Volume,
    pub mapping: IntensityMapping,
    /// Where the lungs are, which predictions are kept to.
    pub field: LungField,
    /// 0/1 infection, voxel order of `image`.
    pub binary: Vec<u8>,
    /// 0–3 and 255, voxel order of `image`.
    pub classes: Vec<u8>,
    /// Similarity group of every slice (patients we must not split).
    pub groups: Vec<usize>,
    /// SHA-256 of the three volumes, for the model card.
    pub hash: String,
}

fn read_volume(path: &Path) -> Result<(Volume, Vec<u8>), DataError> {
    let bytes = std::fs::read(path).map_err(|e| err(path, format!("cannot read: {e}")))?;
    let volume = read_nifti(&bytes).map_err(|e| err(path, e.to_string()))?;
    Ok((volume, bytes))
}

fn read_mask(
    path: &Path,
    dims: [usize; 3],
    allowed: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), DataError> {
    let (mask, bytes) = read_volume(path)?;
    if mask.dims() != dims {
        return Err(err(
            path,
            format!(
                "dimensions {:?} differ from the image's {:?}",
                mask.dims(),
                dims
            ),
        ));
    }
    let mut labels = Vec::with_capacity(mask.data.len());
    for (i, v) in mask.data.iter().enumerate() {
        if v.fract() != 0.0 || !(0.0..=255.0).contains(&v) || !allowed.contains(&(v as u8)) {
            return Err(err(
                path,
                format!("voxel {i} has label {v}; allowed labels are {allowed:?}"),
            ));
        }
        labels.push(v as u8);
    }
    Ok((labels, bytes))
}

fn read_groups(path: &Path, nz: usize) -> Result<Vec<usize>, DataError> {
    if !path.exists() {
        eprintln!(
            "note: {} not found; every slice is its own group",
            path.display()
        );
        return Ok((0..nz).collect());
    }
    let text = std::fs::read_to_string(path).map_err(|e| err(path, format!("cannot read: {e}")))?;
    let mut lines = text.lines();
    let head: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .collect();
    let col = |name: &str| {
        head.iter()
            .position(|h| *h == name)
            .ok_or_else(|| err(path, format!("no `{name}` column")))
    };
    let (zc, gc) = (col("z")?, col("similarity_group")?);
    let mut groups = vec![usize::MAX; nz];
    for (n, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let parse = |c: usize| {
            f.get(c)
                .and_then(|v| v.parse::<usize>().ok())
                .ok_or_else(|| err(path, format!("line {}: bad number", n + 2)))
        };
        let (z, g) = (parse(zc)?, parse(gc)?);
        if z >= nz {
            return Err(err(
                path,
                format!("line {}: z = {z} but the volume has {nz} slices", n + 2),
            ));
        }
        groups[z] = g;
    }
    if let Some(z) = groups.iter().position(|&g| g == usize::MAX) {
        return Err(err(path, format!("slice z = {z} has no row")));
    }
    Ok(groups)
}

impl LabelledData {
    pub fn load(dir: &Path) -> Result<Self, DataError> {
        if !dir.is_dir() {
            return Err(err(dir, "not a directory"));
        }
        let image_path = dir.join("image.nii.gz");
        let (image, image_bytes) = read_volume(&image_path)?;
        let mapping = detect(&image, lung_window()).map_err(|e| err(&image_path, e.to_string()))?;
        let dims = image.dims();
        let (binary, b_bytes) = read_mask(&dir.join("mask_binary.nii.gz"), dims, &[0, 1])?;
        let (classes, c_bytes) = read_mask(
            &dir.join("mask_classes.nii.gz"),
            dims,
            &[0, 1, 2, 3, IGNORE],
        )?;
        let groups = read_groups(&dir.join("slices.csv"), dims[2])?;
        let hash = sha256_hex([&image_bytes, &b_bytes, &c_bytes]);
        let field = LungField::of(&image, &mapping);
        Ok(Self {
            dir: dir.to_path_buf(),
            image,
            mapping,
            field,
            binary,
            classes,
            groups,
            hash,
        })
    }

    pub fn slices(&self) -> usize {
        self.image.dims()[2]
    }

    /// Ground truth of stored slice `k` for a model with `classes` outputs.
    pub fn truth(&self, k: usize, classes: usize) -> &[u8] {
        let [nx, ny, _] = self.image.dims();
        let src = if classes == 2 {
            &self.binary
        } else {
            &self.classes
        };
        &src[k * nx * ny..(k + 1) * nx * ny]
    }
}

/// A split of slice indices into training and validation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Split {
    pub train: Vec<usize>,
    pub valid: Vec<usize>,
}

/// Shuffled groups (seeded), dealt into `folds` folds of similar slice counts.
fn group_folds(groups: &[usize], folds: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut ids: Vec<usize> = groups.to_vec();
    ids.sort_unstable();
    ids.dedup();
    Rng::new(seed ^ 0x5911_7a3c).shuffle(&mut ids);
    let mut buckets: Vec<Vec<usize>> = vec![Vec::new(); folds];
    let mut sizes = vec![0usize; folds];
    for g in ids {
        let members: Vec<usize> = (0..groups.len()).filter(|&z| groups[z] == g).collect();
        let f = (0..folds)
            .min_by_key(|&f| (sizes[f], f))
            .expect("folds > 0");
        sizes[f] += members.len();
        buckets[f].extend(members);
    }
    buckets.iter_mut().for_each(|b| b.sort_unstable());
    buckets
}

/// Fold `fold` of `folds` is validation, the rest training; groups never straddle.
pub fn fold_split(groups: &[usize], folds: usize, fold: usize, seed: u64) -> Split {
    assert!(folds >= 2 && fold < folds, "fold {fold} of {folds}");
    let buckets = group_folds(groups, folds, seed);
    let valid = buckets[fold].clone();
    let mut train: Vec<usize> = buckets
        .iter()
        .enumerate()
        .filter(|(f, _)| *f != fold)
        .flat_map(|(_, b)| b.clone())
        .collect();
    train.sort_unstable();
    Split { train, valid }
}

/// Lowercase hex SHA-256 of `parts` one after another, what model cards record to name the
/// exact files a run used.
pub fn sha256_hex<'a>(parts: impl IntoIterator<Item = &'a Vec<u8>>) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    parts.into_iter().for_each(|p| h.update(p));
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// One training slice at the model's input size (row-major S × S), or a window of one
/// (`Augment::crop`).
#[derive(Debug, Clone)]
pub struct Sample {
    pub image: Vec<f32>,
    pub labels: Vec<u8>,
}

/// Model-sized training slices (display orientation, [0, 1] and labels for `classes`).
pub fn prepare_samples(
    data: &LabelledData,
    slices: &[usize],
    config: &FfrNetConfig,
) -> Vec<Sample> {
    let g = &data.image.geometry;
    let s = config.input_size;
    let size = g.view.display_size(g.dims);
    slices
        .iter()
        .map(|&k| {
            let display = g.view.to_display(g.dims, &data.image.slice(k));
            let unit: Vec<f32> = display.iter().map(|&v| data.mapping.to_unit(v)).collect();
            let labels = g.view.to_display(g.dims, data.truth(k, config.classes));
            Sample {
                image: resize_bilinear(&unit, size, [s, s]),
                labels: resize_nearest(&labels, size, [s, s]),
            }
        })
        .collect()
}
