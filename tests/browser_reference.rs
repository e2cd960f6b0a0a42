//! The native side of the browser tests: computes, on `flex`, the logits of the fixed-weight lite
//! model for a real LIDC slice and the parse summary of the LIDC NIfTI, and checks them against
//! the committed reference files that `tests/web.rs` compares WebGPU with.
//! `LUNGSEG_BLESS=1 cargo test --release --test browser_reference` rewrites the files.
#![cfg(not(target_arch = "wasm32"))]

mod common;
mod reference;

use burn::prelude::*;
use common::gunzip;
use reference::*;

const LOGITS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/lite_fixed_logits.bin"
);
const SUMMARY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/lidc_parse_summary.json"
);
const MASKS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/shipped_medseg_masks.bin.gz"
);

/// The shipped model's native masks for the reference MedSeg slices, which the browser test
/// compares WebGPU and wasm-flex masks with. Re-bless after shipping a new model.
#[test]
fn shipped_model_reference_masks_match_native_predict() {
    use lungseg::intensity::{detect, lung_window};
    use lungseg::pipeline::{SegmentOptions, segment_slices};
    use lungseg::weights::load_for_inference;
    let device = Device::flex();
    let (model, card) = load_for_inference(SHIPPED_MODEL, &device).expect("shipped model loads");
    let volume = medseg();
    let field =
        lungseg::lung_field::LungField::of(&volume, &detect(&volume, lung_window()).unwrap());
    let mut labels = Vec::new();
    for k in MEDSEG_SLICES {
        labels.extend(
            segment_slices(
                &model,
                &card.config,
                &volume,
                &field,
                k..k + 1,
                SegmentOptions::default(),
                &device,
            )
            .0,
        );
    }
    assert!(
        labels.iter().any(|&l| l != 0),
        "the shipped model finds infection on MedSeg slices"
    );
    if std::env::var("LUNGSEG_BLESS").is_ok() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&labels).unwrap();
        std::fs::write(MASKS, gz.finish().unwrap()).unwrap();
    }
    let committed = gunzip(&std::fs::read(MASKS).expect("reference masks (bless them)"));
    assert_eq!(
        committed, labels,
        "the shipped model changed: bless the reference masks again"
    );
}

#[test]
fn reference_files_match_native_flex() {
    let device = Device::flex();
    let (model, config) = lite_fixed(&device);
    let logits = model.forward(lidc_input(&config, &device));
    assert_eq!(logits.dims(), [1, 2, 256, 256]);
    let values: Vec<f32> = logits.into_data().iter::<f32>().collect();
    assert!(values.iter().all(|v| v.is_finite()));
    let spread = values.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(
        spread > 0.05,
        "fixed weights must give non-trivial logits (max |logit| {spread})"
    );
    let kept = strided(&values);
    let summary = parse_summary(&lidc());
    if std::env::var("LUNGSEG_BLESS").is_ok() {
        let bytes: Vec<u8> = kept.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(LOGITS, bytes).unwrap();
        std::fs::write(SUMMARY, serde_json::to_string(&summary).unwrap()).unwrap();
    }
    let committed = decode_f32(&std::fs::read(LOGITS).expect("reference logits (bless them)"));
    assert_eq!(committed.len(), kept.len());
    let diff = committed
        .iter()
        .zip(&kept)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        diff < 1e-4,
        "native flex drifted from the committed reference by {diff}"
    );
    let committed: Vec<f64> =
        serde_json::from_str(&std::fs::read_to_string(SUMMARY).unwrap()).unwrap();
    assert_eq!(committed, summary);
}
