//! Browser tests, run by `wasm-pack test --release --headless --chrome` in headless Chromium:
//! the lite network on WebGPU against native `flex` (committed reference computed by
//! `tests/browser_reference.rs`), the `flex` fallback inside wasm, test-time augmentation on
//! WebGPU against flex, and NIfTI parsing in wasm.
#![cfg(target_arch = "wasm32")]

mod common;
mod reference;

use burn::prelude::*;
use common::gunzip;
use lungseg::wasm::webgpu_device;
use reference::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const LOGITS: &[u8] = include_bytes!("fixtures/lite_fixed_logits.bin");
const SUMMARY: &str = include_str!("fixtures/lidc_parse_summary.json");

async fn logits_on(device: &Device) -> Vec<f32> {
    let (model, config) = lite_fixed(device);
    let logits = model.forward(lidc_input(&config, device));
    assert_eq!(logits.dims(), [1, 2, 256, 256]);
    let data = logits.into_data_async().await.expect("read-back");
    strided(&data.iter::<f32>().collect::<Vec<_>>())
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()))
}

#[wasm_bindgen_test]
async fn nifti_parsed_in_wasm_matches_the_native_parse() {
    let native: Vec<f64> = serde_json::from_str(SUMMARY).unwrap();
    assert_eq!(parse_summary(&lidc()), native);
}

#[wasm_bindgen_test]
async fn lite_on_webgpu_matches_native_flex() {
    let (device, adapter) = webgpu_device()
        .await
        .expect("WebGPU adapter (Chromium needs --enable-unsafe-webgpu)");
    let gpu = logits_on(&device).await;
    let diff = max_abs_diff(&gpu, &decode_f32(LOGITS));
    web_sys_log(&format!(
        "WebGPU ({adapter}): max |logit − native flex| = {diff:e}"
    ));
    assert!(
        diff < 1e-3,
        "WebGPU logits differ from native flex by {diff}"
    );
}

#[wasm_bindgen_test]
async fn lite_on_flex_in_wasm_matches_native_flex() {
    let cpu = logits_on(&Device::flex()).await;
    let diff = max_abs_diff(&cpu, &decode_f32(LOGITS));
    web_sys_log(&format!(
        "flex in wasm: max |logit − native flex| = {diff:e}"
    ));
    assert!(
        diff < 1e-3,
        "wasm flex logits differ from native flex by {diff}"
    );
}

/// Test-time augmentation's device steps (mirror, resize up and back, mean of the views) for
/// the lite network on a 128² LIDC input with a 160² zoomed view.
async fn augmented_on(device: &Device) -> Vec<f32> {
    use lungseg::model::resize::resize_to;
    let (model, config) = lite_fixed(device);
    let x = resize_to(lidc_input(&config, device), [128, 128]);
    let p = lungseg::pipeline::augmented(&model, x, &[128, 160]);
    assert_eq!(p.dims(), [1, 2, 128, 128]);
    let data = p.into_data_async().await.expect("read-back");
    data.iter::<f32>().collect()
}

#[wasm_bindgen_test]
async fn tta_on_webgpu_matches_flex_in_wasm() {
    let (device, _) = webgpu_device().await.expect("WebGPU");
    let gpu = augmented_on(&device).await;
    let cpu = augmented_on(&Device::flex()).await;
    let diff = max_abs_diff(&gpu, &cpu);
    web_sys_log(&format!(
        "test-time augmentation, WebGPU vs wasm flex: max |p − p| = {diff:e}"
    ));
    assert!(diff < 1e-3, "augmented probabilities differ by {diff}");
    let spread = gpu.iter().fold(0f32, |m, &v| m.max((v - 0.5).abs()));
    assert!(
        spread > 0.1,
        "probabilities all near ½ ({spread}): nothing compared"
    );
}

fn web_sys_log(s: &str) {
    wasm_bindgen_test::console_log!("{}", s);
}

const MASKS: &[u8] = include_bytes!("fixtures/shipped_medseg_masks.bin.gz");

/// The shipped model on `device` for the reference MedSeg slices, through the same pipeline
/// steps as the page (model input, probabilities, async read-back, labels on the scan's grid).
async fn shipped_masks(device: &Device) -> Vec<u8> {
    use lungseg::intensity::{detect, lung_window};
    use lungseg::pipeline::{model_input, probabilities, slice_labels};
    let (model, card) =
        lungseg::weights::load_for_inference(SHIPPED_MODEL, device).expect("shipped model");
    let cfg = card.config;
    let volume = medseg();
    let mapping = detect(&volume, lung_window()).unwrap();
    let field = lungseg::lung_field::LungField::of(&volume, &mapping);
    let mut labels = Vec::new();
    for k in MEDSEG_SLICES {
        let input = vec![model_input(&volume, k, &mapping, &cfg)];
        let probs = probabilities(&model, &cfg, &input, false, device)
            .into_data_async()
            .await
            .expect("read-back");
        let probs: Vec<f32> = probs.iter::<f32>().collect();
        labels.extend(slice_labels(
            &probs,
            cfg.classes,
            cfg.input_size,
            &volume,
            &field,
            k,
        ));
    }
    labels
}

#[wasm_bindgen_test]
async fn shipped_model_on_webgpu_gives_the_native_mask() {
    let (device, _) = webgpu_device().await.expect("WebGPU");
    let native = gunzip(MASKS);
    let d = dice(&shipped_masks(&device).await, &native);
    web_sys_log(&format!(
        "shipped model, WebGPU vs native predict: Dice {d:.6}"
    ));
    assert!(d >= 0.99, "Dice {d}");
}

#[wasm_bindgen_test]
async fn shipped_model_on_the_flex_fallback_gives_the_native_mask() {
    let native = gunzip(MASKS);
    let d = dice(&shipped_masks(&Device::flex()).await, &native);
    web_sys_log(&format!(
        "shipped model, wasm flex vs native predict: Dice {d:.6}"
    ));
    assert!(d >= 0.99, "Dice {d}");
}

const LIDC0_DCM: &[u8] = include_bytes!(concat!(
    env!("LUNGSEG_SHARED_DATA"),
    "/fixtures/lidc_chest_slice0.dcm"
));

/// The DICOM decoders that ship in the page: JPEG Lossless, RLE and JPEG 2000 (rust-j2k)
/// decode in wasm to the uncompressed slice's HU values; JPEG-LS, which has no pure-Rust
/// decoder, is refused by name and UID while the rest of the folder opens.
#[wasm_bindgen_test]
async fn dicom_compressed_slices_decode_in_wasm() {
    use lungseg::volume::DicomSet;
    let hu = |name: &str, bytes: &[u8]| {
        let mut set = DicomSet::new();
        set.add(name, bytes);
        assert!(set.skipped().is_empty(), "{name}: {:?}", set.skipped());
        set.volume(None).expect(name).volume.data
    };
    let plain = hu("raw.dcm", LIDC0_DCM);
    assert_eq!(plain.len(), 512 * 512);
    for (name, bytes) in [
        (
            "jpeg_lossless",
            &include_bytes!("fixtures/dicom/lidc0_jpeg_lossless.dcm")[..],
        ),
        ("rle", &include_bytes!("fixtures/dicom/lidc0_rle.dcm")[..]),
        (
            "j2k_lossless",
            &include_bytes!("fixtures/dicom/lidc0_j2k_lossless.dcm")[..],
        ),
    ] {
        assert!(
            hu(name, bytes) == plain,
            "{name} differs from the uncompressed slice"
        );
    }
    let mut set = DicomSet::new();
    set.add("jls.dcm", include_bytes!("fixtures/dicom/lidc0_jpegls.dcm"));
    set.add("raw.dcm", LIDC0_DCM);
    let reason = &set.skipped()[0].reason;
    assert!(
        reason.contains("JPEG-LS") && reason.contains("1.2.840.10008.1.2.4.80"),
        "{reason}"
    );
    assert_eq!(set.volume(None).expect("the rest opens").volume.data, plain);
}
