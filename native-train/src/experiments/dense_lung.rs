//! Normal lung denser than MedSeg's (`train --dense-lung N`): the uninfected lung of MedSeg's
//! slices sits at −856 HU (level 84 of the lung window), the real HU scans' at −668 to −779
//! (97–116, EXPERIMENTS "Tones"), denser towards the back where the patient lies on it, and the
//! model flags that normal density as ground glass. Each epoch adds N copies of training slices
//! whose uninfected lung is raised by a random amount, more at the back than the front, with
//! their labels unchanged: infection stays infection, the denser lung around it stays
//! background. No real scan is trained on, so every real scan stays one to report on.

use serde::Serialize;
use std::sync::Arc;

use lungseg::model::FfrNetConfig;
use lungseg::resample::resize_nearest;

use crate::data::{LabelledData, Sample};
use crate::rng::{Rng, epoch_draw};

/// What a run with dense-lung copies records (card and fingerprint).
#[derive(Debug, Clone, Serialize)]
pub struct DenseLungOptions {
    /// Copies added to each epoch.
    pub per_epoch: usize,
    /// Largest rise of the lung at its back, in levels of the 0–255 lung window.
    pub max_rise: f32,
}

/// The options with the training slices' lung fields at the model's input size.
#[derive(Clone, Serialize)]
pub struct DenseLung {
    #[serde(flatten)]
    pub options: DenseLungOptions,
    #[serde(skip)]
    lungs: Arc<Vec<Vec<bool>>>,
}

impl DenseLung {
    /// The lung fields of training slices `train` of `data` (never validation ones), in the
    /// order of the loop's labelled samples, which the copies are made of.
    pub fn new(
        data: &LabelledData,
        train: &[usize],
        config: &FfrNetConfig,
        options: DenseLungOptions,
    ) -> Self {
        let s = config.input_size;
        let g = &data.image.geometry;
        let size = g.view.display_size(g.dims);
        let lungs = train
            .iter()
            .map(|&k| resize_nearest(&data.field.slice(k), size, [s, s]))
            .collect();
        Self {
            options,
            lungs: Arc::new(lungs),
        }
    }

    /// The loop's hook: epoch `epoch`'s copies of `labelled` (the training slices `new` was
    /// given, prepared by the loop), every slice once before any twice, each raised by its own
    /// draw.
    pub fn samples(&self, labelled: &[Sample], epoch: usize, seed: u64) -> Vec<Sample> {
        let n = self.lungs.len();
        assert_eq!(labelled.len(), n, "one lung field per training slice");
        if n == 0 {
            return Vec::new();
        }
        epoch_draw(n, epoch, self.options.per_epoch, seed ^ 0xde05_e100)
            .into_iter()
            .enumerate()
            .map(|(j, i)| {
                let mut rng = Rng::new(seed ^ ((epoch as u64) << 32) ^ (j as u64) ^ 0x1a9);
                let rise = rng.range(0.25, 1.0) * self.options.max_rise / 255.0;
                let front = rng.range(0.2, 1.0);
                densify(&labelled[i], &self.lungs[i], rise, front)
            })
            .collect()
    }
}

/// `s` with its uninfected lung (`lung` and label 0) raised: by `rise` (on the [0, 1] scale) at
/// the lung's lowest row, the patient's back in the radiological display, and by `front` × `rise`
/// at its top row, linearly between. Infection, and everything outside the lung, is untouched.
pub fn densify(s: &Sample, lung: &[bool], rise: f32, front: f32) -> Sample {
    let n = (s.image.len() as f64).sqrt() as usize;
    assert_eq!(n * n, s.image.len(), "a square slice");
    assert_eq!(
        lung.len(),
        s.image.len(),
        "a lung field of the slice's size"
    );
    let rows: Vec<usize> = (0..n)
        .filter(|&y| lung[y * n..(y + 1) * n].iter().any(|&l| l))
        .collect();
    let mut out = s.clone();
    let (Some(&top), Some(&bottom)) = (rows.first(), rows.last()) else {
        return out;
    };
    let span = (bottom - top).max(1) as f32;
    for y in top..=bottom {
        let t = (y - top) as f32 / span;
        let add = rise * (front + (1.0 - front) * t);
        for x in 0..n {
            let i = y * n + x;
            if lung[i] && s.labels[i] == 0 {
                out.image[i] = (s.image[i] + add).min(1.0);
            }
        }
    }
    out
}

impl std::fmt::Debug for DenseLung {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.options.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_uninfected_lung_rises_and_more_at_the_back() {
        // 8 × 8: lung in rows 2–5, columns 1–6; one infected pixel in it.
        let n = 8;
        let lung: Vec<bool> = (0..n * n)
            .map(|i| (2..=5).contains(&(i / n)) && (1..=6).contains(&(i % n)))
            .collect();
        let mut labels = vec![0u8; n * n];
        labels[3 * n + 3] = 1;
        let s = Sample {
            image: vec![0.3; n * n],
            labels,
        };
        let d = densify(&s, &lung, 0.1, 0.5);
        assert_eq!(d.labels, s.labels);
        for (i, &in_lung) in lung.iter().enumerate() {
            let (y, rise) = (i / n, d.image[i] - s.image[i]);
            if !in_lung || s.labels[i] != 0 {
                assert_eq!(rise, 0.0, "pixel {i}");
            } else if y == 2 {
                assert!((rise - 0.05).abs() < 1e-6, "front row: {rise}");
            } else if y == 5 {
                assert!((rise - 0.1).abs() < 1e-6, "back row: {rise}");
            } else {
                assert!(rise > 0.05 && rise < 0.1, "row {y}: {rise}");
            }
        }
        // No lung: the slice comes back as it was; values stay in [0, 1].
        assert_eq!(densify(&s, &vec![false; n * n], 0.1, 0.5).image, s.image);
        let bright = Sample {
            image: vec![0.95; n * n],
            labels: s.labels.clone(),
        };
        assert!(
            densify(&bright, &lung, 0.1, 1.0)
                .image
                .iter()
                .all(|&v| v <= 1.0)
        );
    }

    #[test]
    fn copies_are_the_same_for_a_seed_and_epoch_and_differ_across_epochs() {
        let n = 8;
        let lung = vec![true; n * n];
        let labelled: Vec<Sample> = (0..3)
            .map(|k| Sample {
                image: vec![0.3 * k as f32; n * n],
                labels: vec![0; n * n],
            })
            .collect();
        let d = DenseLung {
            options: DenseLungOptions {
                per_epoch: 2,
                max_rise: 40.0,
            },
            lungs: Arc::new(vec![lung; 3]),
        };
        let images = |epoch: usize, seed: u64| -> Vec<Vec<f32>> {
            d.samples(&labelled, epoch, seed)
                .into_iter()
                .map(|s| s.image)
                .collect()
        };
        assert_eq!(images(3, 9), images(3, 9));
        assert_ne!(images(3, 9), images(4, 9));
        assert_ne!(images(3, 9), images(3, 10));
        // Every copy rose by ¼ to all of the largest rise at the back (the last row).
        for s in d.samples(&labelled, 1, 9) {
            // Bases 0, 0.3 and 0.6 lie further apart than the largest rise (40 / 255).
            let base = 0.3 * (s.image[0] / 0.3).floor();
            let back = s.image[n * n - 1] - base;
            assert!(
                (10.0 / 255.0 - 1e-6..=40.0 / 255.0 + 1e-6).contains(&back),
                "{back}"
            );
        }
    }
}
