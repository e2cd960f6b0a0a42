//! Pseudo-labelled slices from the unlabeled COVID-19 collection (`shared/data/unlabeled`),
//! Semi-Inf-Net's idea in its simplest form: a fixed teacher, trained on the same split's
//! labelled slices, segments each unlabeled slice when it is drawn, and the student trains on
//! those labels beside the labelled ones.

use crate::error::TrainError;
use anyhow::Context;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::prelude::*;
use lungseg::model::{FfrNet, FfrNetConfig};
use lungseg::pipeline::{argmax, probabilities};
use lungseg::resample::{resize_bilinear, resize_nearest};
use lungseg::weights::load_for_inference;
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use crate::data::Sample;
use crate::data::{DataError, err, sha256_hex};
use crate::rng::epoch_draw;
use lungseg::pipeline::TTA_NAME;

/// Pseudo-labels in a run: what it records (its card and fingerprint hold `options`, under the
/// keys runs have always had) and the slices and teacher those name, in one value, so the two
/// cannot disagree.
#[derive(Clone, Serialize)]
pub struct Pseudo {
    #[serde(flatten)]
    pub options: PseudoOptions,
    #[serde(skip)]
    source: Arc<(UnlabeledPool, Teacher)>,
}

/// What a semi-supervised run adds (recorded in the log, the card and the run's fingerprint).
#[derive(Debug, Clone, Serialize)]
pub struct PseudoOptions {
    pub unlabeled: String,
    pub unlabeled_slices: usize,
    pub teacher: String,
    pub teacher_sha256: String,
    pub per_epoch: usize,
    /// The teacher's test-time augmentation, by name (`pipeline::TTA_NAME`), so a run whose
    /// teacher averaged other views (the mirror pair alone, before the zoomed views) will not
    /// resume under this one. Left out when off, so runs from before the option keep their
    /// fingerprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub teacher_tta: Option<String>,
}

impl Pseudo {
    /// `per_epoch` slices of `pool` labelled by `teacher` join every epoch.
    pub fn new(pool: UnlabeledPool, teacher: Teacher, per_epoch: usize) -> Self {
        let options = PseudoOptions {
            unlabeled: pool.dir.display().to_string(),
            unlabeled_slices: pool.len(),
            teacher: teacher.path.display().to_string(),
            teacher_sha256: teacher.sha256.clone(),
            per_epoch,
            teacher_tta: teacher.tta.then(|| TTA_NAME.to_string()),
        };
        Self {
            options,
            source: Arc::new((pool, teacher)),
        }
    }

    /// The loop's hook: epoch `epoch`'s pseudo-labelled samples at `size`².
    pub fn samples(&self, epoch: usize, seed: u64, size: usize) -> Result<Vec<Sample>, DataError> {
        let (pool, teacher) = &*self.source;
        let drawn = pool.draw(epoch, self.options.per_epoch, seed);
        teacher.label(pool, &drawn, size)
    }
}

impl std::fmt::Debug for Pseudo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.options.fmt(f)
    }
}

/// The crops come from 512 × 512 scans; centring them on a canvas this size keeps their anatomy
/// at the scale of the labelled slices instead of blowing a lung crop up to the whole input.
const CANVAS: usize = 512;

/// The unlabeled JPEG slices of one folder, in name order.
pub struct UnlabeledPool {
    pub dir: PathBuf,
    files: Vec<PathBuf>,
    /// The tone map of each file's patient.
    tone: Vec<ToneMatch>,
}

impl UnlabeledPool {
    pub fn load(dir: &Path) -> Result<Self, DataError> {
        let entries = std::fs::read_dir(dir).map_err(|e| err(dir, format!("cannot read: {e}")))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg")
                })
            })
            .collect();
        if files.is_empty() {
            return Err(err(dir, "no .jpg slices in this folder"));
        }
        files.sort();
        // `<case>_<slice>.jpg`: slices of one case are one patient, exported one way.
        let case = |p: &PathBuf| {
            let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            stem.rsplit_once('_').map_or(stem, |(c, _)| c).to_string()
        };
        let mut hists: std::collections::BTreeMap<String, [u64; 256]> = Default::default();
        for f in &files {
            let (pixels, _, _) = decode(f)?;
            let h = hists.entry(case(f)).or_insert([0; 256]);
            pixels.iter().for_each(|&p| h[p as usize] += 1);
        }
        let tone = files
            .iter()
            .map(|f| ToneMatch::of(&hists[&case(f)]))
            .collect();
        Ok(Self {
            dir: dir.to_path_buf(),
            files,
            tone,
        })
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Slice `i` as the labelled slices look: anterior at the top (the collection stores the
    /// spine at the left), in [0, 1], centred on the canvas and resized to `size` × `size`.
    pub fn image(&self, i: usize, size: usize) -> Result<Vec<f32>, DataError> {
        let (pixels, w, h) = decode(&self.files[i])?;
        let tone = self.tone[i];
        // Rotate a quarter turn counter-clockwise: column c becomes row w − 1 − c.
        let mut upright = vec![0.0f32; w * h];
        for r in 0..h {
            for c in 0..w {
                upright[(w - 1 - c) * h + r] = tone.apply(pixels[r * w + c]);
            }
        }
        let (rows, cols) = (w, h);
        let fit = (CANVAS as f32 / rows.max(cols) as f32).min(1.0);
        let (fr, fc) = (
            ((rows as f32 * fit) as usize).max(1),
            ((cols as f32 * fit) as usize).max(1),
        );
        let placed = if fit < 1.0 {
            resize_bilinear(&upright, [rows, cols], [fr, fc])
        } else {
            upright
        };
        let mut canvas = vec![0.0f32; CANVAS * CANVAS];
        let (top, left) = ((CANVAS - fr) / 2, (CANVAS - fc) / 2);
        for r in 0..fr {
            canvas[(top + r) * CANVAS + left..][..fc].copy_from_slice(&placed[r * fc..][..fc]);
        }
        Ok(resize_bilinear(&canvas, [CANVAS, CANVAS], [size, size]))
    }

    /// The slices of epoch `epoch` (1-based): every slice once before any twice ([`epoch_draw`]).
    pub fn draw(&self, epoch: usize, per_epoch: usize, seed: u64) -> Vec<usize> {
        epoch_draw(self.len(), epoch, per_epoch, seed ^ 0x00c0_ffee)
    }
}

/// Grey levels (row-major), width and height of a JPEG slice.
fn decode(path: &Path) -> Result<(Vec<u8>, usize, usize), DataError> {
    let bytes = std::fs::read(path).map_err(|e| err(path, format!("cannot read: {e}")))?;
    // The decoder fills a cut-off scan with grey instead of failing; the end marker tells.
    let trimmed = bytes
        .iter()
        .rposition(|&b| b != 0)
        .map_or(&bytes[..0], |n| &bytes[..=n]);
    if !trimmed.ends_with(&[0xff, 0xd9]) {
        return Err(err(path, "truncated JPEG (no end-of-image marker)"));
    }
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::Luma)
        .set_max_width(4 * CANVAS)
        .set_max_height(4 * CANVAS);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(&bytes), options);
    let pixels = decoder
        .decode()
        .map_err(|e| err(path, format!("not a readable JPEG: {e:?}")))?;
    let info = decoder
        .info()
        .ok_or_else(|| err(path, "JPEG without a frame header"))?;
    let (w, h) = (info.width as usize, info.height as usize);
    if pixels.len() != w * h {
        return Err(err(
            path,
            format!("{} values for {w} × {h} pixels", pixels.len()),
        ));
    }
    Ok((pixels, w, h))
}

/// A linear grey-level map, one per patient, that puts aerated lung and soft tissue where the
/// labelled MedSeg slices have them. The collection mixes two exports: the Radiopaedia cases are
/// in a lung window like MedSeg's (lung about 49, soft tissue saturated at 255), the coronacases
/// ones in a much wider window (lung 12–20, soft tissue 84–104, nothing saturated). Without the
/// map the teacher reads the coronacases mediastinum as consolidation.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ToneMatch {
    /// Already in a MedSeg-like lung window.
    Keep,
    /// The patient's lung and soft-tissue grey levels, moved to MedSeg's.
    Linear { lung: f32, soft_tissue: f32 },
}

/// The most common grey level below 128 (aerated lung) over the 52 MedSeg slices, median.
const MEDSEG_LUNG: f32 = 60.0;
/// Soft tissue is saturated in MedSeg's lung window.
const MEDSEG_SOFT_TISSUE: f32 = 255.0;

impl ToneMatch {
    /// From the grey-level histogram of all of one patient's slices.
    fn of(hist: &[u64; 256]) -> Self {
        let total: u64 = hist.iter().sum();
        let saturated: u64 = hist[250..].iter().sum();
        if saturated * 100 >= total {
            return Self::Keep;
        }
        let mode = |lo: usize, hi: usize| (lo..hi).max_by_key(|&v| (hist[v], v)).unwrap_or(lo);
        Self::Linear {
            lung: mode(0, 50) as f32,
            soft_tissue: mode(70, 200) as f32,
        }
    }

    fn apply(&self, v: u8) -> f32 {
        match *self {
            Self::Keep => v as f32 / 255.0,
            Self::Linear { lung, soft_tissue } => {
                let t = (v as f32 - lung) / (soft_tissue - lung);
                ((MEDSEG_LUNG + t * (MEDSEG_SOFT_TISSUE - MEDSEG_LUNG)) / 255.0).clamp(0.0, 1.0)
            }
        }
    }
}

/// A trained model that labels unlabeled slices (argmax of its softmax, at the model's grid).
pub struct Teacher {
    model: FfrNet,
    config: FfrNetConfig,
    device: Device,
    pub path: PathBuf,
    pub sha256: String,
    /// Labels with test-time augmentation (see `lungseg::pipeline::probabilities`).
    pub tta: bool,
}

impl Teacher {
    /// Loads `path` and checks that it fits the student and never saw the student's validation
    /// slices (its labels would leak them into training).
    pub fn load(
        path: &Path,
        student: &FfrNetConfig,
        valid_slices: &[usize],
        tta: bool,
        device: &Device,
    ) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let (model, card) = load_for_inference(&bytes, device)
            .with_context(|| format!("reading {}", path.display()))?;
        let c = &card.config;
        // The input size may differ: the teacher sees each slice at its own size and its labels
        // are resized to the student's (a 384² teacher for a 256² student, say).
        if (c.classes, c.in_channels) != (student.classes, student.in_channels) {
            return Err(TrainError::mismatch(
                path,
                format!(
                    "the teacher has {} classes and {} input channels; the student {} and {}",
                    c.classes, c.in_channels, student.classes, student.in_channels
                ),
            )
            .into());
        }
        let teacher_valid: Option<Vec<usize>> =
            card.training["split"]["valid_slices"].as_array().map(|a| {
                a.iter()
                    .filter_map(|v| v.as_u64().map(|v| v as usize))
                    .collect()
            });
        if teacher_valid.as_deref() != Some(valid_slices) {
            return Err(TrainError::mismatch(
path,
format!("the teacher's card gives validation slices {:?}, this split validates on {:?}; \
                 a teacher trained on any of those slices would leak their labels into training",
                teacher_valid,
                valid_slices
            )).into());
        }
        let sha256 = sha256_hex([&bytes]);
        Ok(Self {
            model,
            config: card.config,
            device: device.clone(),
            path: path.to_path_buf(),
            sha256,
            tta,
        })
    }

    /// Pseudo-labelled samples of the pool's slices `indices` at the student's `size`². The
    /// teacher segments each slice at its own input size; where the sizes differ, the student's
    /// image is drawn from the slice afresh and the labels follow it by nearest neighbour.
    pub fn label(
        &self,
        pool: &UnlabeledPool,
        indices: &[usize],
        size: usize,
    ) -> Result<Vec<Sample>, DataError> {
        let (k, t) = (self.config.classes, self.config.input_size);
        let plane = t * t;
        let views = indices
            .iter()
            .map(|&i| pool.image(i, t))
            .collect::<Result<Vec<_>, _>>()?;
        let inputs: Vec<Vec<f32>> = views
            .iter()
            .map(|im| im.repeat(self.config.in_channels))
            .collect();
        let probs = probabilities(&self.model, &self.config, &inputs, self.tta, &self.device)
            .into_data()
            .try_into_vec::<f32>()
            .expect("f32 probabilities");
        indices
            .iter()
            .zip(views)
            .enumerate()
            .map(|(n, (&i, view))| {
                let maps: Vec<&[f32]> = probs[n * k * plane..(n + 1) * k * plane]
                    .chunks(plane)
                    .collect();
                let labels = argmax(&maps);
                Ok(if t == size {
                    Sample {
                        image: view,
                        labels,
                    }
                } else {
                    Sample {
                        image: pool.image(i, size)?,
                        labels: resize_nearest(&labels, [t, t], [size, size]),
                    }
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unlabeled(name: &str) -> PathBuf {
        PathBuf::from(lungseg::SHARED_DATA)
            .join("unlabeled/images")
            .join(name)
    }

    /// A folder with a few real slices of one coronacases and one Radiopaedia patient.
    fn pool(dir: &Path) -> UnlabeledPool {
        let names = [
            "Data-1_coronacases_org_004_10.jpg",
            "Data-1_coronacases_org_004_60.jpg",
            "Data-1_coronacases_org_004_120.jpg",
            "Data-1_radiopaedia_org_covid-19-pneumonia-14_85914_0-dcm_30.jpg",
            "Data-1_radiopaedia_org_covid-19-pneumonia-14_85914_0-dcm_50.jpg",
        ];
        for n in names {
            std::fs::copy(unlabeled(n), dir.join(n)).unwrap();
        }
        UnlabeledPool::load(dir).unwrap()
    }

    #[test]
    fn each_export_is_mapped_to_medseg_tones() {
        let tmp = tempfile::tempdir().unwrap();
        let p = pool(tmp.path());
        assert_eq!(p.len(), 5);
        // Name order: the three coronacases slices first.
        let ToneMatch::Linear { lung, soft_tissue } = p.tone[0] else {
            panic!("coronacases left alone: {:?}", p.tone[0]);
        };
        assert!((10.0..=20.0).contains(&lung), "{lung}");
        assert!((80.0..=110.0).contains(&soft_tissue), "{soft_tissue}");
        assert!((p.tone[0].apply(lung as u8) * 255.0 - MEDSEG_LUNG).abs() < 1.0);
        assert_eq!(p.tone[0].apply(soft_tissue as u8), 1.0);
        // The Radiopaedia export already saturates soft tissue like MedSeg: left alone.
        assert_eq!(p.tone[4], ToneMatch::Keep);
        assert_eq!(p.tone[4].apply(77), 77.0 / 255.0);
    }

    #[test]
    fn slices_come_upright_centred_and_at_medseg_scale() {
        let tmp = tempfile::tempdir().unwrap();
        let p = pool(tmp.path());
        for i in 0..p.len() {
            let (_, w, h) = decode(&p.files[i]).unwrap();
            let img = p.image(i, 256).unwrap();
            assert_eq!(img.len(), 256 * 256);
            // The crop, a quarter turn round, centred on a 512 canvas shown at 256: its box is
            // w/2 rows by h/2 columns, the rest black.
            let lit = |r: usize, c: usize| img[r * 256 + c] > 0.0;
            let rows: Vec<usize> = (0..256).filter(|&r| (0..256).any(|c| lit(r, c))).collect();
            let cols: Vec<usize> = (0..256).filter(|&c| (0..256).any(|r| lit(r, c))).collect();
            let (nr, nc) = (rows.len() as f32, cols.len() as f32);
            assert!(
                (nr - w as f32 / 2.0).abs() <= 3.0,
                "{i}: {nr} rows for w {w}"
            );
            assert!(
                (nc - h as f32 / 2.0).abs() <= 3.0,
                "{i}: {nc} columns for h {h}"
            );
            assert!(nc > nr, "{i}: the chest is wider than deep once upright");
            let mid = |v: &[usize]| (v[0] + v[v.len() - 1]) as f32 / 2.0;
            assert!((mid(&rows) - 127.5).abs() <= 2.0 && (mid(&cols) - 127.5).abs() <= 2.0);
        }
        // Upright: the spine (bright, at the crop's left edge in the file) ends up at the bottom.
        let (px, w, h) = decode(&p.files[1]).unwrap();
        let column_mean = |c: usize| (0..h).map(|r| px[r * w + c] as f32).sum::<f32>() / h as f32;
        let row_mean = |img: &[f32], r: usize| img[r * 256..(r + 1) * 256].iter().sum::<f32>();
        let img = p.image(1, 256).unwrap();
        let rows: Vec<usize> = (0..256).filter(|&r| row_mean(&img, r) > 0.0).collect();
        let (top, bottom) = (rows[0], rows[rows.len() - 1]);
        // The file's left column is the image's bottom row (and its right column the top).
        let q = (bottom - top) / 4;
        let lower: f32 = (bottom - q..=bottom).map(|r| row_mean(&img, r)).sum();
        let upper: f32 = (top..=top + q).map(|r| row_mean(&img, r)).sum();
        let left: f32 = (0..w / 4).map(column_mean).sum();
        let right: f32 = (w - w / 4..w).map(column_mean).sum();
        assert_eq!(lower > upper, left > right);
    }

    #[test]
    fn every_slice_is_drawn_once_before_any_twice() {
        let p = UnlabeledPool {
            dir: PathBuf::new(),
            files: vec![PathBuf::new(); 40],
            tone: vec![ToneMatch::Keep; 40],
        };
        let mut first: Vec<usize> = (1..=5).flat_map(|e| p.draw(e, 8, 3)).collect();
        first.sort_unstable();
        assert_eq!(first, (0..40).collect::<Vec<_>>());
        assert_eq!(
            p.draw(7, 8, 3),
            p.draw(7, 8, 3),
            "a resumed run draws the same"
        );
        assert_ne!(p.draw(1, 8, 3), p.draw(6, 8, 3), "each pass is a new order");
    }

    #[test]
    fn a_teacher_of_another_size_labels_at_its_own_and_resizes() {
        let tmp = tempfile::tempdir().unwrap();
        let p = pool(tmp.path());
        let device = Device::flex();
        let bytes = std::fs::read(crate::paths::DEFAULT_MODEL).unwrap();
        let (model, card) = load_for_inference(&bytes, &device).unwrap();
        let t = card.config.input_size;
        let teacher = Teacher {
            model,
            config: card.config,
            device,
            path: PathBuf::new(),
            sha256: String::new(),
            tta: false,
        };
        let own = teacher.label(&p, &[1, 4], t).unwrap();
        let small = teacher.label(&p, &[1, 4], 128).unwrap();
        for (n, i) in [1, 4].into_iter().enumerate() {
            assert_eq!(own[n].image, p.image(i, t).unwrap());
            assert_eq!(small[n].image, p.image(i, 128).unwrap());
            assert_eq!(
                small[n].labels,
                resize_nearest(&own[n].labels, [t, t], [128, 128])
            );
            // The shipped model finds infection on these COVID-19 slices, not everywhere.
            let marked = own[n].labels.iter().filter(|&&l| l != 0).count();
            assert!(marked > 0 && marked < t * t / 4, "slice {i}: {marked}");
        }
    }

    #[test]
    fn unreadable_folders_and_files_are_named() {
        let tmp = tempfile::tempdir().unwrap();
        let e = UnlabeledPool::load(tmp.path()).err().unwrap().to_string();
        assert!(e.contains("no .jpg slices"), "{e}");
        let bytes = std::fs::read(unlabeled("Data-1_coronacases_org_004_10.jpg")).unwrap();
        std::fs::write(tmp.path().join("cut.jpg"), &bytes[..bytes.len() / 3]).unwrap();
        let e = UnlabeledPool::load(tmp.path()).err().unwrap().to_string();
        assert!(e.contains("cut.jpg") && e.contains("truncated"), "{e}");
        std::fs::write(tmp.path().join("cut.jpg"), b"not a jpeg\xff\xd9").unwrap();
        let e = UnlabeledPool::load(tmp.path()).err().unwrap().to_string();
        assert!(
            e.contains("cut.jpg") && e.contains("not a readable JPEG"),
            "{e}"
        );
    }
}
