//! A model file (`.lungseg`: magic, version, card JSON, burnpack weights): framing and card, then
//! the network the card describes is built and the weights loaded, as `predict --model` does.
#![no_main]

use burn::prelude::*;
use libfuzzer_sys::fuzz_target;
use lungseg::weights::load_for_inference;

fuzz_target!(|data: &[u8]| {
    let device = Device::flex();
    let _ = load_for_inference(data, &device);
});
