//! How much Dice a model whose output grid is G × G can reach at best on MedSeg's 512² masks:
//! every ground-truth mask is resized to G² (bilinear, as the network's probabilities live on
//! that grid), back to 512² and thresholded at ½, then scored like `eval` does. FFRNet's logits
//! sit on the stem pool's grid, a quarter of the input size: 64² for 256² input, 96² for 384²,
//! 128² for 512² (or 256² windows of 512² slices, `train --crop`).
//!
//! `cargo run --release -p native-train -- experiment resolution-ceiling [DATA_DIR]`

use anyhow::Context;
use lungseg::metrics::evaluate;
use lungseg::resample::resize_bilinear;
use lungseg::volume::read_nifti;
use std::path::PathBuf;

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let dir = args.first().map_or_else(
        || PathBuf::from(lungseg::SHARED_DATA).join("medseg/train"),
        PathBuf::from,
    );
    let path = dir.join("mask_binary.nii.gz");
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let masks = read_nifti(&bytes).with_context(|| format!("reading {}", path.display()))?;
    let [nx, ny, nz] = masks.dims();
    let plane = nx * ny;
    let truths: Vec<Vec<u8>> = (0..nz)
        .map(|k| {
            masks
                .data
                .range(k * plane..(k + 1) * plane)
                .iter()
                .map(|&v| u8::from(v > 0.5))
                .collect()
        })
        .collect();
    println!("| output grid | per-slice mean Dice | pooled Dice | worst slice (z) |");
    println!("|---|---|---|---|");
    for g in [32, 64, 96, 128, 256] {
        let preds: Vec<Vec<u8>> = truths
            .iter()
            .map(|t| {
                let t: Vec<f32> = t.iter().map(|&v| f32::from(v)).collect();
                let coarse = resize_bilinear(&t, [ny, nx], [g, g]);
                let back = resize_bilinear(&coarse, [g, g], [ny, nx]);
                back.iter().map(|&p| u8::from(p > 0.5)).collect()
            })
            .collect();
        let report = evaluate(
            preds
                .iter()
                .map(Vec::as_slice)
                .zip(truths.iter().map(Vec::as_slice)),
            2,
        );
        let worst = (report.binary.per_slice.iter().map(|s| s.dice))
            .zip(0..nz)
            .fold((f64::INFINITY, 0), |a, b| if b.0 < a.0 { b } else { a });
        println!(
            "| {g}² | {:.3} | {:.3} | {:.3} ({}) |",
            report.binary.per_slice_mean.dice, report.binary.pooled.dice, worst.0, worst.1
        );
    }
    Ok(())
}
