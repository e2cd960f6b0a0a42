//! Overlap metrics over label masks: Dice, IoU, sensitivity, specificity, precision.
//!
//! Conventions (written down because the literature disagrees):
//! - A ratio whose denominator is zero counts as **1**: a slice where both the prediction and
//!   the ground truth are empty has Dice 1 and IoU 1 (FFRNet's code scores it 0), a slice
//!   without infection has sensitivity 1 (nothing to miss), an empty prediction has precision 1
//!   (nothing claimed wrongly).
//! - Pixels labelled [`IGNORE`] (infection of unknown subtype) are left out of per-class counts
//!   but are infection for the binary (any-infection) counts.
//! - "Per slice" averages the per-slice values; "pooled" sums the confusion counts over all
//!   slices first, which weights slices by their size of infection.

use serde::{Deserialize, Serialize};

/// Label of infection whose subtype is unknown.
pub const IGNORE: u8 = 255;

/// Confusion counts for one class (one-vs-rest).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    pub tp: u64,
    pub fp: u64,
    pub fn_: u64,
    pub tn: u64,
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        1.0
    } else {
        num as f64 / den as f64
    }
}

impl Confusion {
    /// Counts for `pred` against `truth`, where `is_pos` says which labels count as positive
    /// and `skip` which ground-truth labels are left out.
    pub fn count(
        pred: &[u8],
        truth: &[u8],
        is_pos: impl Fn(u8) -> bool,
        skip: impl Fn(u8) -> bool,
    ) -> Self {
        assert_eq!(
            pred.len(),
            truth.len(),
            "prediction and ground truth differ in size"
        );
        let mut c = Confusion::default();
        for (&p, &t) in pred.iter().zip(truth) {
            if skip(t) {
                continue;
            }
            match (is_pos(p), is_pos(t)) {
                (true, true) => c.tp += 1,
                (true, false) => c.fp += 1,
                (false, true) => c.fn_ += 1,
                (false, false) => c.tn += 1,
            }
        }
        c
    }

    /// Any infection (every non-zero label, [`IGNORE`] included) against background.
    pub fn binary(pred: &[u8], truth: &[u8]) -> Self {
        Self::count(pred, truth, |l| l != 0, |_| false)
    }

    /// Class `class` against the rest, leaving out [`IGNORE`] pixels.
    pub fn class(pred: &[u8], truth: &[u8], class: u8) -> Self {
        Self::count(pred, truth, |l| l == class, |t| t == IGNORE)
    }

    pub fn dice(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }
    pub fn iou(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp + self.fn_)
    }
    pub fn sensitivity(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    pub fn specificity(&self) -> f64 {
        ratio(self.tn, self.tn + self.fp)
    }
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    pub fn scores(&self) -> Scores {
        Scores {
            dice: self.dice(),
            iou: self.iou(),
            sensitivity: self.sensitivity(),
            specificity: self.specificity(),
            precision: self.precision(),
        }
    }
}

impl std::ops::Add for Confusion {
    type Output = Confusion;
    fn add(self, o: Confusion) -> Confusion {
        Confusion {
            tp: self.tp + o.tp,
            fp: self.fp + o.fp,
            fn_: self.fn_ + o.fn_,
            tn: self.tn + o.tn,
        }
    }
}

/// The five metrics, under the key names the JSON reports use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    pub dice: f64,
    pub iou: f64,
    pub sensitivity: f64,
    pub specificity: f64,
    pub precision: f64,
}

impl Scores {
    pub fn mean(all: &[Scores]) -> Scores {
        let n = all.len().max(1) as f64;
        let sum = |f: fn(&Scores) -> f64| all.iter().map(f).sum::<f64>() / n;
        Scores {
            dice: sum(|s| s.dice),
            iou: sum(|s| s.iou),
            sensitivity: sum(|s| s.sensitivity),
            specificity: sum(|s| s.specificity),
            precision: sum(|s| s.precision),
        }
    }
}

/// Per-slice and pooled scores for one class (or for binary infection).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassReport {
    pub name: String,
    pub per_slice_mean: Scores,
    pub pooled: Scores,
    pub per_slice: Vec<Scores>,
}

impl ClassReport {
    fn new(name: &str, slices: &[Confusion]) -> Self {
        let per_slice: Vec<Scores> = slices.iter().map(Confusion::scores).collect();
        let pooled = slices
            .iter()
            .copied()
            .fold(Confusion::default(), |a, b| a + b)
            .scores();
        Self {
            name: name.to_string(),
            per_slice_mean: Scores::mean(&per_slice),
            pooled,
            per_slice,
        }
    }
}

/// Binary infection scores and, for multi-class labels, one report per class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub slices: usize,
    pub binary: ClassReport,
    pub classes: Vec<ClassReport>,
}

/// Names of the labels 1, 2, 3 of the 4-class masks.
pub const CLASS_NAMES: [&str; 3] = ["ground_glass", "consolidation", "effusion"];

/// Evaluates slices given as (prediction, truth) label pairs. `classes` = 2 reports binary
/// infection only; 4 adds ground-glass, consolidation and effusion.
pub fn evaluate<'a>(
    slices: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    classes: usize,
) -> Report {
    let mut binary = Vec::new();
    let mut per_class: Vec<Vec<Confusion>> = vec![Vec::new(); classes.saturating_sub(1)];
    if classes == 2 {
        per_class.clear();
    }
    for (pred, truth) in slices {
        binary.push(Confusion::binary(pred, truth));
        for (c, counts) in per_class.iter_mut().enumerate() {
            counts.push(Confusion::class(pred, truth, c as u8 + 1));
        }
    }
    Report {
        slices: binary.len(),
        binary: ClassReport::new("infection", &binary),
        classes: per_class
            .iter()
            .enumerate()
            .map(|(c, counts)| ClassReport::new(CLASS_NAMES[c], counts))
            .collect(),
    }
}
