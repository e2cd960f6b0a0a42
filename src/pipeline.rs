//! Slice-wise inference: volume slice → display orientation → [0, 1] → model grid → softmax →
//! back to the slice's own grid → labels in the volume's voxel order.
//!
//! Everything but the device round trip is plain Rust over plain types; the read-back is
//! synchronous natively and `await`ed in the browser, so both call the same steps.

use burn::prelude::*;
use burn::tensor::activation::softmax;

use crate::intensity::IntensityMapping;
use crate::lung_field::{LungField, pixel_mm2};
use crate::model::resize::resize_to;
use crate::model::{FfrNet, FfrNetConfig};
use crate::resample::resize_bilinear;
use crate::volume::Volume;

/// Model input for stored slice `k`: display-oriented, mapped to [0, 1], resized to the model's
/// square input, replicated over the input channels (C × S × S, row-major).
pub fn model_input(
    volume: &Volume,
    k: usize,
    mapping: &IntensityMapping,
    config: &FfrNetConfig,
) -> Vec<f32> {
    let g = &volume.geometry;
    let display = g.view.to_display(g.dims, &volume.slice(k));
    let unit: Vec<f32> = display.iter().map(|&v| mapping.to_unit(v)).collect();
    let s = config.input_size;
    let resized = resize_bilinear(&unit, g.view.display_size(g.dims), [s, s]);
    replicate(resized, config.in_channels)
}

fn replicate(plane: Vec<f32>, channels: usize) -> Vec<f32> {
    if channels == 1 {
        return plane;
    }
    let mut out = Vec::with_capacity(plane.len() * channels);
    for _ in 0..channels {
        out.extend_from_slice(&plane);
    }
    out
}

/// How results made with test-time augmentation are marked (mask files, `eval`'s table).
pub const TTA_NAME: &str = "TTA (mirror + zoom)";

/// Side of the zoomed view of test-time augmentation for a model input of side `s`: 4/3 of it,
/// rounded to a multiple of 32 (512 for the shipped 384² model, the slice's own size).
pub fn tta_zoom_size(s: usize) -> usize {
    ((s * 4 + 48) / 96).max(1) * 32
}

/// Class probabilities (N × K × S × S) for a batch of model inputs, left on the device.
///
/// With `tta` (test-time augmentation) each slice is segmented four ways and the probability
/// maps are averaged: as given and mirrored left to right (the lungs are near mirror images
/// and training flips them, so the two views err differently), each also zoomed by 4/3
/// ([`tta_zoom_size`], the input upsampled on the device, the probabilities resized back).
/// The zoomed view sees lesions on a finer output grid; training's zoom augmentation covers
/// the scale. On the five 384² validation folds the four views gain +0.011 Dice per slice on
/// average at epoch 100 over one (EXPERIMENTS.md, "Test-time augmentation"), at about 5.5
/// times the work.
pub fn probabilities(
    model: &FfrNet,
    config: &FfrNetConfig,
    inputs: &[Vec<f32>],
    tta: bool,
    device: &Device,
) -> Tensor<4> {
    let s = config.input_size;
    let n = inputs.len();
    let flat: Vec<f32> = inputs.iter().flatten().copied().collect();
    let x =
        Tensor::<1>::from_floats(flat.as_slice(), device).reshape([n, config.in_channels, s, s]);
    if !tta {
        return softmax(model.forward(x), 1);
    }
    augmented(model, x, &[s, tta_zoom_size(s)])
}

/// Mean probabilities of `x` (N × C × S × S) over views at each side in `sides`, each as given
/// and mirrored: the input resized to the side on the device, the probabilities mapped back to
/// S × S. [`probabilities`] uses it with S and 4/3 S; `examples/tta_zoom.rs` compares others.
pub fn augmented(model: &FfrNet, x: Tensor<4>, sides: &[usize]) -> Tensor<4> {
    let s = x.dims()[2..4].try_into().expect("N × C × H × W");
    let views: Vec<Tensor<4>> = sides
        .iter()
        .map(|&z| resize_to(mirror_mean(model, resize_to(x.clone(), [z, z])), s))
        .collect();
    let k = views.len() as f32;
    views
        .into_iter()
        .reduce(|a, b| a + b)
        .expect("at least one side")
        .div_scalar(k)
}

/// Mean of the probabilities of `x` and of `x` mirrored (mirrored back), run as one batch so a
/// GPU does both in one pass.
fn mirror_mean(model: &FfrNet, x: Tensor<4>) -> Tensor<4> {
    let n = x.dims()[0];
    let both = Tensor::cat(vec![x.clone(), x.flip([3])], 0);
    let p = softmax(model.forward(both), 1);
    let plain = p.clone().narrow(0, 0, n);
    let mirrored = p.narrow(0, n, n).flip([3]);
    (plain + mirrored).mul_scalar(0.5)
}

/// The NIfTI `descrip` of an exported mask: which model made it, and how.
pub fn mask_description(preset: &str, tta: bool) -> String {
    let tta = if tta {
        format!(", {TTA_NAME}")
    } else {
        String::new()
    };
    format!("lungseg {preset} mask{tta}")
}

/// How [`segment_slices`] runs the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentOptions {
    /// Slices per forward pass.
    pub batch: usize,
    /// Average four views: mirrored and zoomed (see [`probabilities`]).
    pub tta: bool,
}

impl Default for SegmentOptions {
    fn default() -> Self {
        Self {
            batch: 1,
            tta: false,
        }
    }
}

/// Labels of stored slice `k` of `volume` (i fastest) from its K × S × S probabilities:
/// [`display_labels`] without the regions apart from the lung field
/// ([`LungField::keep_lung_regions`]), put back into stored order.
pub fn slice_labels(
    probs: &[f32],
    classes: usize,
    input_size: usize,
    volume: &Volume,
    field: &LungField,
    k: usize,
) -> Vec<u8> {
    let g = &volume.geometry;
    let mut display = display_labels(probs, classes, input_size, volume);
    field.keep_lung_regions(&mut display, k, pixel_mm2(volume));
    g.view.to_stored(g.dims, &display)
}

/// The displayed slice's labels (row-major, as shown) from K × S × S probabilities: each class
/// map is resized to the displayed slice and the most probable class wins.
pub fn display_labels(
    probs: &[f32],
    classes: usize,
    input_size: usize,
    volume: &Volume,
) -> Vec<u8> {
    let g = &volume.geometry;
    let [h, w] = g.view.display_size(g.dims);
    let plane = input_size * input_size;
    let resized: Vec<Vec<f32>> = (0..classes)
        .map(|c| {
            resize_bilinear(
                &probs[c * plane..(c + 1) * plane],
                [input_size, input_size],
                [h, w],
            )
        })
        .collect();
    let maps: Vec<&[f32]> = resized.iter().map(Vec::as_slice).collect();
    argmax(&maps)
}

/// The most probable class of every pixel, given one probability map per class (the lower
/// class wins a tie).
pub fn argmax(maps: &[&[f32]]) -> Vec<u8> {
    let n = maps.first().map_or(0, |m| m.len());
    (0..n)
        .map(|i| {
            let mut best = 0;
            for c in 1..maps.len() {
                if maps[c][i] > maps[best][i] {
                    best = c;
                }
            }
            best as u8
        })
        .collect()
}

/// Writes the labels of stored slices `ks`, from their probabilities `probs` (K × S × S each,
/// slice after slice), into `labels`, which holds slices `start..` one after another: the step
/// native and browser segmentation share after their (sync or async) read-back.
pub fn place_labels(
    labels: &mut [u8],
    start: usize,
    ks: &[usize],
    probs: &[f32],
    config: &FfrNetConfig,
    volume: &Volume,
    field: &LungField,
) {
    let plane = volume.dims()[0] * volume.dims()[1];
    let grid = config.classes * config.input_size * config.input_size;
    for (i, &k) in ks.iter().enumerate() {
        let at = (k - start) * plane;
        labels[at..at + plane].copy_from_slice(&slice_labels(
            &probs[i * grid..(i + 1) * grid],
            config.classes,
            config.input_size,
            volume,
            field,
            k,
        ));
    }
}

/// Time spent in each step of [`segment_slices`], summed over the slices.
#[cfg(not(target_family = "wasm"))]
#[derive(Debug, Clone, Copy, Default)]
pub struct StageTimes {
    /// Display order, window, resize to the model's grid ([`model_input`]).
    pub inputs: std::time::Duration,
    /// The forward pass(es) and the read-back.
    pub network: std::time::Duration,
    /// Probabilities back to the slice's grid, argmax, regions kept to the lung ([`slice_labels`]).
    pub labels: std::time::Duration,
}

#[cfg(not(target_family = "wasm"))]
impl std::ops::AddAssign for StageTimes {
    fn add_assign(&mut self, other: Self) {
        self.inputs += other.inputs;
        self.network += other.network;
        self.labels += other.labels;
    }
}

/// Segments slices `range` of `volume` natively, `options.batch` slices per forward pass; returns the
/// labels of those slices in voxel order, slice after slice, and the time each step took
/// (`predict --timings`). Slices without lung are not sent to the model: their labels are 0.
/// `field` is `volume`'s, and says how its values read as HU.
#[cfg(not(target_family = "wasm"))]
pub fn segment_slices(
    model: &FfrNet,
    config: &FfrNetConfig,
    volume: &Volume,
    field: &LungField,
    range: std::ops::Range<usize>,
    options: SegmentOptions,
    device: &Device,
) -> (Vec<u8>, StageTimes) {
    let mut times = StageTimes::default();
    use std::time::Instant;
    let plane = volume.dims()[0] * volume.dims()[1];
    let mut labels = vec![0u8; range.len() * plane];
    let ks: Vec<usize> = range.clone().filter(|&k| field.has_lung(k)).collect();
    for chunk in ks.chunks(options.batch.max(1)) {
        let t = Instant::now();
        let inputs: Vec<Vec<f32>> = chunk
            .iter()
            .map(|&k| model_input(volume, k, &field.mapping, config))
            .collect();
        times.inputs += t.elapsed();
        let t = Instant::now();
        let probs = probabilities(model, config, &inputs, options.tta, device)
            .into_data()
            .try_into_vec::<f32>()
            .expect("f32 probabilities");
        times.network += t.elapsed();
        let t = Instant::now();
        place_labels(
            &mut labels,
            range.start,
            chunk,
            &probs,
            config,
            volume,
            field,
        );
        times.labels += t.elapsed();
    }
    (labels, times)
}
