//! FFRNet presets: parameter counts, cost, shape traces, geometry that follows the input.
#![cfg(not(target_arch = "wasm32"))]

use burn::prelude::*;
use lungseg::model::Preset;
use lungseg::model::complexity::trainable_params;

#[test]
fn paper_preset_has_the_spec_parameter_count_and_cost() {
    let config = Preset::Paper.config();
    let model = config.init(&Device::flex());
    let c = model.complexity([256, 256]);
    assert_eq!(c.params, 39_947_714, "spec §12: used-only parameters");
    // Spec §12: 46.63 GMAC ≈ 93.3 GFLOP per 256² slice.
    assert!((c.gflops() - 93.26).abs() < 0.05, "{:.3} GFLOP", c.gflops());
    // The ResNet-50 body without fc is 23,508,032 parameters.
    assert_eq!(trainable_params(&model.backbone), 23_508_032);
    // AF1..AF4 per spec: 1,312,000 / 2,229,504 / 4,064,512 / 7,734,528.
    let af: Vec<usize> = model.autofocus.iter().map(trainable_params).collect();
    assert_eq!(af, vec![1_312_000, 2_229_504, 4_064_512, 7_734_528]);
    assert_eq!(
        trainable_params(&model.panorama) + trainable_params(&model.decoder),
        1_099_138
    );
}

#[test]
fn paper_preset_shape_trace_at_256() {
    let config = Preset::Paper.config();
    let device = Device::flex();
    let model = config.init(&device);
    let t = model.trace(Tensor::<4>::zeros([1, 3, 256, 256], &device));
    let dims = |x: &Tensor<4>| x.dims();
    assert_eq!(
        t.features.iter().map(dims).collect::<Vec<_>>(),
        vec![
            [1, 256, 64, 64],
            [1, 512, 32, 32],
            [1, 1024, 32, 32],
            [1, 2048, 32, 32]
        ]
    );
    assert_eq!(
        t.focused.iter().map(dims).collect::<Vec<_>>(),
        vec![
            [1, 128, 64, 64],
            [1, 128, 32, 32],
            [1, 128, 32, 32],
            [1, 128, 32, 32]
        ]
    );
    assert_eq!(dims(&t.fused[0]), [1, 128, 64, 64]);
    assert_eq!(dims(&t.logits_low), [1, 2, 64, 64]);
    assert_eq!(dims(&t.logits), [1, 2, 256, 256]);
}

#[test]
fn lite_preset_fits_the_browser_budget_and_follows_the_input_size() {
    for classes in [2, 4] {
        let config = Preset::Lite.config().with_classes(classes);
        config.validate().unwrap();
        let device = Device::flex();
        let model = config.init(&device);
        let c = model.complexity([256, 256]);
        assert!(c.params <= 8_000_000, "{} parameters", c.params);
        assert!(c.gflops() <= 10.0, "{:.2} GFLOP", c.gflops());
        // 512² input: every grid doubles (no hard-coded 64/32), D1 and the logits run at 128².
        let t = model.trace(Tensor::<4>::zeros([1, 1, 512, 512], &device));
        assert_eq!(t.features[0].dims()[2..], [128, 128]);
        assert_eq!(t.features[3].dims()[2..], [64, 64]);
        assert_eq!(t.fused[1].dims()[2..], [64, 64]);
        assert_eq!(t.logits_low.dims(), [1, classes, 128, 128]);
        assert_eq!(t.logits.dims(), [1, classes, 512, 512]);
        // Non-square input keeps its aspect.
        let t = model.trace(Tensor::<4>::zeros([2, 1, 192, 256], &device));
        assert_eq!(t.logits.dims(), [2, classes, 192, 256]);
        assert_eq!(t.logits_low.dims(), [2, classes, 48, 64]);
    }
    let c = Preset::Lite
        .config()
        .init(&Device::flex())
        .complexity([256, 256]);
    assert_eq!(
        c.params, 3_818_866,
        "lite preset changed: update the README and the shipped model"
    );
}

#[test]
fn config_validation_rejects_nonsense() {
    let mut c = Preset::Lite.config();
    c.classes = 3;
    assert!(c.validate().is_err());
    let mut c = Preset::Lite.config();
    c.input_size = 100;
    assert!(c.validate().is_err());
    let mut c = Preset::Lite.config();
    c.std = vec![0.0];
    assert!(c.validate().is_err());
}

#[test]
fn folding_batch_norm_keeps_the_outputs() {
    use lungseg::fixed_weights::fixed_weights;
    let device = Device::flex();
    let config = Preset::Lite.config().with_classes(4);
    let model = fixed_weights(config.init(&device));
    let x = Tensor::<4>::random(
        [2, 1, 128, 128],
        burn::tensor::Distribution::Uniform(0.0, 1.0),
        &device,
    );
    let a: Vec<f32> = model.forward(x.clone()).into_data().iter::<f32>().collect();
    let b: Vec<f32> = model
        .fold_batch_norm()
        .forward(x)
        .into_data()
        .iter::<f32>()
        .collect();
    let scale = a.iter().fold(0f32, |m, v| m.max(v.abs()));
    let diff = a
        .iter()
        .zip(&b)
        .fold(0f32, |m, (p, q)| m.max((p - q).abs()));
    assert!(
        scale > 0.01 && diff <= 1e-4 * scale.max(1.0),
        "max |Δ| {diff} (scale {scale})"
    );
}
