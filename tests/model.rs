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

/// A model card is untrusted input: one that asks for a network too large to build is refused
/// before any weight is allocated, and the estimate used for that bounds the real count.
#[test]
fn config_validation_refuses_networks_too_large_to_build() {
    for preset in Preset::ALL {
        let config = preset.config().with_fine_step(Some(32));
        let built = config.init(&Device::flex()).complexity([256, 256]).params as u64;
        let estimate = config.approx_params();
        assert!(
            estimate >= built && estimate < 2 * built,
            "{}: estimate {estimate}, built {built}",
            preset.name()
        );
    }
    let mut c = Preset::Paper.config();
    c.backbone.widths = [2048; 4];
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("parameters") && e.contains("67108864"), "{e}");
    let mut c = Preset::Lite.config();
    c.channels = 1 << 20;
    assert!(c.validate().unwrap_err().to_string().contains("width"));
    let mut c = Preset::Lite.config();
    c.backbone.layers = [2, 2, 1000, 2];
    assert!(c.validate().unwrap_err().to_string().contains("blocks"));
    let mut c = Preset::Lite.config();
    c.autofocus_rates = vec![6, 1 << 30];
    assert!(c.validate().unwrap_err().to_string().contains("rates"));
}

#[test]
fn folding_batch_norm_keeps_the_outputs() {
    use lungseg::fixed_weights::fixed_weights;
    let device = Device::flex();
    for fine_step in [None, Some(16)] {
        let config = Preset::Lite
            .config()
            .with_classes(4)
            .with_fine_step(fine_step);
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
            "{fine_step:?}: max |Δ| {diff} (scale {scale})"
        );
    }
}

/// The fine step moves the logits onto the stem's H/2 grid, costs what its convolutions cost,
/// and model cards written before it existed still read as the paper's head.
#[test]
fn a_fine_step_halves_the_output_grid() {
    let device = Device::flex();
    let plain = Preset::Lite.config();
    let fine = plain.clone().with_fine_step(Some(32));
    fine.validate().unwrap();
    assert!(plain.clone().with_fine_step(Some(0)).validate().is_err());
    let (p, f) = (plain.init(&device), fine.init(&device));
    let t = f.trace(Tensor::<4>::zeros([2, 1, 192, 256], &device));
    assert_eq!(t.logits_low.dims(), [2, 2, 96, 128]);
    assert_eq!(t.logits.dims(), [2, 2, 192, 256]);
    assert_eq!(
        p.trace(Tensor::<4>::zeros([1, 1, 256, 256], &device))
            .logits_low
            .dims()[2..],
        [64, 64]
    );
    // Merge 1×1 (32 + 48 → 32) and 3×3 (32 → 32) with their BNs; the classifier reads 32, not 48.
    let (cp, cf) = (p.complexity([256, 256]), f.complexity([256, 256]));
    let added = (80 * 32 + 2 * 32) + (9 * 32 * 32 + 2 * 32) - (48 - 32) * 2;
    assert_eq!(cf.params, cp.params + added);
    let grid = 128 * 128;
    let macs = (80 * 32 + 9 * 32 * 32 + 32 * 2) * grid - 48 * 2 * 64 * 64;
    assert_eq!(cf.head_macs, cp.head_macs + macs as u64);
    assert_eq!(cf.backbone_macs, cp.backbone_macs);
    // Without a fine step the config writes as before it existed, and reads back.
    let json = serde_json::to_value(&plain).unwrap();
    assert!(json.get("fine_step").is_none(), "{json}");
    let back: lungseg::model::FfrNetConfig = serde_json::from_value(json).unwrap();
    assert_eq!(back, plain);
    let json = serde_json::to_value(&fine).unwrap();
    assert_eq!(json["fine_step"], 32);
}

/// The fused `flex` gates compute what the composed burn ops compute, leave shared inputs alone,
/// and keep exact gradients under autodiff (which runs the composition).
#[test]
fn fused_gates_match_the_composed_ops() {
    use burn::tensor::Distribution;
    use burn::tensor::activation::sigmoid;
    use lungseg::model::gate::{Gate, gated, gated_residual};
    let device = Device::flex();
    let g = Tensor::<4>::random([2, 3, 17, 19], Distribution::Normal(0.0, 4.0), &device);
    let v = Tensor::<4>::random([2, 3, 17, 19], Distribution::Normal(0.0, 1.0), &device);
    let close = |a: Tensor<4>, b: Tensor<4>| {
        let d: f32 = (a - b).abs().max().into_scalar();
        assert!(d < 1e-6, "fused gate off by {d}");
    };
    let keep = g.clone().into_data();
    close(
        gated(g.clone(), v.clone(), Gate::On),
        sigmoid(g.clone()) * v.clone(),
    );
    close(
        gated(g.clone(), v.clone(), Gate::Off),
        sigmoid(g.clone().neg()) * v.clone(),
    );
    close(
        gated_residual(g.clone(), v.clone()),
        g.clone() + sigmoid(g.clone().neg()) * v.clone(),
    );
    // Fresh (unshared) buffers take the in-place path; non-contiguous views the fallback.
    close(
        gated(g.clone() * 1.0, v.clone() * 1.0, Gate::On),
        sigmoid(g.clone()) * v.clone(),
    );
    let gt = g.clone().swap_dims(2, 3);
    let vt = v.clone().swap_dims(2, 3);
    close(
        gated_residual(gt.clone(), vt.clone()),
        gt.clone() + sigmoid(gt.neg()) * vt,
    );
    assert_eq!(g.into_data(), keep, "a shared input was overwritten");

    let ad = Device::flex().autodiff();
    let x = Tensor::<4>::random([1, 2, 5, 5], Distribution::Normal(0.0, 2.0), &ad).require_grad();
    let u = Tensor::<4>::random([1, 2, 5, 5], Distribution::Normal(0.0, 1.0), &ad);
    let fused = gated_residual(x.clone(), u.clone()) + gated(x.clone(), u.clone(), Gate::On);
    let grads = fused.sum().backward();
    let dx_fused = x.grad(&grads).unwrap();
    let composed = x.clone() + sigmoid(x.clone().neg()) * u.clone() + sigmoid(x.clone()) * u;
    let grads = composed.sum().backward();
    let dx = x.grad(&grads).unwrap();
    let d: f32 = (dx_fused - dx).abs().max().into_scalar();
    assert!(d < 1e-6, "gradients differ by {d}");
}

/// The `flex` GEMM and Winograd convolutions equal burn's `conv2d` on every geometry FFRNet uses
/// (and a few it does not): strides, dilations beyond the image, asymmetric padding, with and
/// without bias.
#[test]
fn gemm_convolution_matches_burn_conv2d() {
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::Distribution;
    use lungseg::model::conv_gemm::conv2d;
    let device = Device::flex();
    // (cin, cout, h, w, kernel, stride, dilation, padding (top, left, bottom, right), bias)
    let cases = [
        (3, 8, 33, 29, 7, 2, 1, (3, 3, 3, 3), false),
        (16, 8, 17, 19, 3, 1, 1, (1, 1, 1, 1), true),
        (16, 8, 17, 19, 3, 2, 1, (1, 1, 1, 1), false),
        (8, 12, 16, 16, 3, 1, 6, (6, 6, 6, 6), true),
        (8, 12, 16, 16, 3, 1, 18, (18, 18, 18, 18), true),
        (12, 6, 15, 15, 1, 1, 1, (0, 0, 0, 0), true),
        (12, 6, 15, 15, 1, 2, 1, (0, 0, 0, 0), false),
        (5, 4, 10, 12, 3, 1, 2, (0, 1, 2, 3), true),
        // Big enough that im2col runs in row blocks (three of them, the last one short).
        (64, 4, 128, 128, 3, 1, 1, (1, 1, 1, 1), true),
        (64, 4, 255, 128, 3, 2, 2, (2, 2, 2, 2), false),
        // Wide 3×3 "same" convolutions take the Winograd path: even and odd sizes, every
        // dilation FFRNet uses, one beyond the image.
        (48, 64, 17, 19, 3, 1, 1, (1, 1, 1, 1), true),
        (64, 48, 32, 32, 3, 1, 2, (2, 2, 2, 2), false),
        (64, 64, 33, 30, 3, 1, 4, (4, 4, 4, 4), true),
        (48, 48, 21, 23, 3, 1, 6, (6, 6, 6, 6), true),
        (48, 48, 8, 9, 3, 1, 12, (12, 12, 12, 12), true),
        (32, 48, 20, 20, 3, 1, 6, (6, 6, 6, 6), false),
        // Sizes that leave the last tile row and column (or run of origins) short.
        (32, 32, 13, 37, 3, 1, 3, (3, 3, 3, 3), true),
        (40, 32, 6, 7, 3, 1, 1, (1, 1, 1, 1), true),
        (32, 40, 26, 11, 3, 1, 2, (2, 2, 2, 2), false),
        // Too narrow to pay: im2col.
        (16, 48, 20, 20, 3, 1, 1, (1, 1, 1, 1), true),
        // Wide but not "same" (asymmetric padding): im2col.
        (48, 48, 12, 12, 3, 1, 1, (1, 1, 0, 0), true),
    ];
    for (cin, cout, h, w, k, s, d, (t, l, b, r), bias) in cases {
        let conv = Conv2dConfig::new([cin, cout], [k, k])
            .with_stride([s, s])
            .with_dilation([d, d])
            .with_padding(PaddingConfig2d::Explicit(t, l, b, r))
            .with_bias(bias)
            .init(&device);
        let x = Tensor::<4>::random([2, cin, h, w], Distribution::Default, &device);
        let close = |got: Tensor<4>, expected: Tensor<4>| {
            assert_eq!(got.dims(), expected.dims());
            let diff: f32 = (got - expected.clone()).abs().max().into_scalar();
            let scale: f32 = expected.abs().max().into_scalar();
            assert!(
                diff <= 1e-5 * scale.max(1.0),
                "k{k} s{s} d{d} pad ({t},{l},{b},{r}): off by {diff}"
            );
        };
        close(conv2d(&conv, x.clone()), conv.forward(x.clone()));
        // A transposed (non-contiguous) input takes burn's own path.
        let xt = x.swap_dims(2, 3);
        close(conv2d(&conv, xt.clone()), conv.forward(xt));
    }
}
