//! Writes `seeds/model_file/tiny.lungseg`: a model file of the lite layout at the smallest
//! widths (about 90 KiB, so the fuzzer mutates the framing, the card and the weights alike).
//! `cargo +nightly run --example model_seed` from fuzz/.

use burn::prelude::*;
use lungseg::model::{FfrNetConfig, Preset};
use lungseg::weights::{ModelCard, save_model};

fn main() {
    let lite = Preset::Lite.config();
    let config = FfrNetConfig {
        name: "tiny".into(),
        backbone: lungseg::model::backbone::BackboneConfig {
            widths: [2, 2, 2, 2],
            stem_width: 2,
            layers: [1, 1, 1, 1],
            ..lite.backbone.clone()
        },
        channels: 2,
        input_size: 32,
        ..lite
    };
    let device = Device::flex();
    let model = config.init(&device);
    let card = ModelCard {
        config,
        training: serde_json::json!({ "data": "none: a fuzzing seed" }),
    };
    let bytes = save_model(&model, &card).expect("save");
    std::fs::write("seeds/model_file/tiny.lungseg", &bytes).expect("write");
    println!("{} bytes", bytes.len());
}
