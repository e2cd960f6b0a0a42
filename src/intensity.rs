//! From stored voxel values to the model's [0, 1] input: detecting Hounsfield units versus
//! 8-bit windowed images, and CT windows.

use serde::{Deserialize, Serialize};

use crate::volume::{Volume, VolumeError, Voxels};

/// A CT display window in Hounsfield units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub level: f32,
    pub width: f32,
}

/// The lung window W1500/L−600: the model's default for HU scans, close to how the
/// training images were exported.
pub fn lung_window() -> Window {
    Window {
        level: -600.0,
        width: 1500.0,
    }
}

/// The mediastinal (soft-tissue) window W350/L40.
pub fn mediastinal_window() -> Window {
    Window {
        level: 40.0,
        width: 350.0,
    }
}

impl Window {
    /// Maps a value to [0, 1] through this window.
    #[inline]
    pub fn apply(&self, v: f32) -> f32 {
        ((v - (self.level - self.width / 2.0)) / self.width).clamp(0.0, 1.0)
    }
}

/// What the stored values mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntensityKind {
    /// Calibrated CT: air ≈ −1000, water 0.
    Hounsfield,
    /// An image already windowed to 0–255 (JPEG/PNG exports, as in MedSeg).
    Windowed8Bit,
}

/// How a volume's values become model input.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IntensityMapping {
    pub kind: IntensityKind,
    /// The window used for HU scans (ignored for 8-bit images).
    pub window: Window,
}

impl IntensityMapping {
    pub fn to_unit(&self, v: f32) -> f32 {
        match self.kind {
            IntensityKind::Hounsfield => self.window.apply(v),
            IntensityKind::Windowed8Bit => (v / 255.0).clamp(0.0, 1.0),
        }
    }

    /// Approximate HU for a value (identity for HU scans; through the lung window for 8-bit).
    pub fn to_hu(&self, v: f32) -> f32 {
        match self.kind {
            IntensityKind::Hounsfield => v,
            IntensityKind::Windowed8Bit => {
                let w = lung_window();
                w.level - w.width / 2.0 + v / 255.0 * w.width
            }
        }
    }
}

/// Value below which `q` of a sample of `values` lies.
fn quantiles(values: &Voxels, qs: &[f64]) -> Vec<f32> {
    let step = (values.len() / 200_000).max(1);
    let mut sample: Vec<f32> = values.iter().step_by(step).collect();
    sample.sort_by(f32::total_cmp);
    qs.iter()
        .map(|q| sample[((sample.len() - 1) as f64 * q).round() as usize])
        .collect()
}

/// Decides whether `volume` holds HU or 8-bit windowed values, and refuses what is neither.
pub fn detect(volume: &Volume, window: Window) -> Result<IntensityMapping, VolumeError> {
    let q = quantiles(&volume.data, &[0.0, 0.01, 0.5, 0.99, 1.0]);
    let (min, p01, _median, p99, max) = (q[0], q[1], q[2], q[3], q[4]);
    let integral = volume.data.iter().step_by(97).all(|v| v.fract() == 0.0);
    let kind = if volume.source_type == "uint8" || (min >= 0.0 && max <= 255.0 && integral) {
        IntensityKind::Windowed8Bit
    } else if p01 <= -500.0 && (-200.0..=4000.0).contains(&p99) && min >= -4096.0 {
        IntensityKind::Hounsfield
    } else {
        return Err(VolumeError::NotCt(format!(
            "its values run from {min} to {max} (1st–99th percentile {p01} to {p99}); a CT scan in Hounsfield \
             units has air near −1000, and an 8-bit windowed image stays within 0–255"
        )));
    };
    Ok(IntensityMapping { kind, window })
}
