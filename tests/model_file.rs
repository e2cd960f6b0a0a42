//! The model file loader on the shipped model and on broken copies of it: every broken file is
//! refused with an error that says what is wrong, none panics.
#![cfg(not(target_arch = "wasm32"))]

mod reference;

use burn::prelude::*;
use burn::tensor::{Bytes, DType};
use lungseg::weights::{ModelFileError, load_for_inference, load_model, read_card};
use reference::SHIPPED_MODEL;

/// The shipped file with its weights replaced by `tensors`, written as burn writes them.
fn with_weights(tensors: Vec<burn_pack::Tensor>) -> Vec<u8> {
    let (_, weights) = read_card(SHIPPED_MODEL).unwrap();
    let mut out = SHIPPED_MODEL[..SHIPPED_MODEL.len() - weights.len()].to_vec();
    out.extend_from_slice(&burn_pack::Writer::new(tensors).into_bytes().unwrap());
    out
}

/// The error of a load that must fail.
fn refused<T>(loaded: Result<T, ModelFileError>) -> ModelFileError {
    match loaded {
        Ok(_) => panic!("a broken model file loaded"),
        Err(e) => e,
    }
}

fn shipped_tensors() -> Vec<burn_pack::Tensor> {
    let (_, weights) = read_card(SHIPPED_MODEL).unwrap();
    burn_pack::Reader::from_bytes(Bytes::from_bytes_vec(weights.to_vec()))
        .unwrap()
        .into_tensors()
        .unwrap()
}

#[test]
fn the_shipped_model_loads_and_rewritten_weights_load_the_same() {
    let device = Device::flex();
    let (_, card) = load_model(SHIPPED_MODEL, &device).expect("shipped model");
    assert!(card.config.validate().is_ok());
    // The rewriting used below is faithful: unchanged tensors give a file that loads.
    load_model(&with_weights(shipped_tensors()), &device).expect("rewritten model");
}

#[test]
fn framing_errors_are_named() {
    let device = Device::flex();
    let err = |bytes: &[u8]| refused(load_for_inference(bytes, &device));
    assert!(matches!(
        err(b"PK\x03\x04 a zip file"),
        ModelFileError::Magic
    ));
    assert!(matches!(
        err(&SHIPPED_MODEL[..10]),
        ModelFileError::Truncated("header")
    ));
    let (_, weights) = read_card(SHIPPED_MODEL).unwrap();
    let card_end = SHIPPED_MODEL.len() - weights.len();
    assert!(matches!(
        err(&SHIPPED_MODEL[..card_end - 5]),
        ModelFileError::Truncated("model card")
    ));
    assert!(matches!(
        err(&SHIPPED_MODEL[..card_end]),
        ModelFileError::Truncated("weights")
    ));
    let mut newer = SHIPPED_MODEL.to_vec();
    newer[8..12].copy_from_slice(&9u32.to_le_bytes());
    assert!(matches!(err(&newer), ModelFileError::Version(9)));
    // Weights cut short, at the start, in the middle and by one byte.
    for cut in [
        card_end + 100,
        card_end + weights.len() / 2,
        SHIPPED_MODEL.len() - 1,
    ] {
        let e = err(&SHIPPED_MODEL[..cut]);
        assert!(
            matches!(e, ModelFileError::Weights(_)),
            "cut at {cut}: {e:?}"
        );
    }
}

/// The fuzzer's find (fuzz/ model_file target): a file whose weights hold an integer tensor
/// panicked in the first tensor op. It is now refused, naming the tensor and its type.
#[test]
fn integer_weights_are_refused_by_name() {
    let device = Device::flex();
    let found = std::fs::read("tests/fixtures/fuzz/model_file_int_weights.lungseg").unwrap();
    let e = refused(load_for_inference(&found, &device));
    assert!(matches!(e, ModelFileError::WeightType { .. }), "{e:?}");
    assert!(e.to_string().contains("float32"), "{e}");

    // The same made from the shipped model: one weight's bytes kept, its type said to be i32.
    let mut tensors = shipped_tensors();
    let t = tensors
        .iter_mut()
        .find(|t| t.name.ends_with("weight"))
        .unwrap();
    let name = t.name.clone();
    t.dtype = DType::I32;
    let e = refused(load_for_inference(&with_weights(tensors), &device));
    match &e {
        ModelFileError::WeightType { name: n, dtype } => {
            assert_eq!(n, &name);
            assert_eq!(dtype, "I32");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains(&name), "{e}");
}

#[test]
fn weights_of_another_shape_or_missing_are_refused() {
    let device = Device::flex();
    let mut tensors = shipped_tensors();
    // A weight reshaped (same bytes): the network's shape check names it.
    let t = tensors
        .iter_mut()
        .find(|t| t.shape.num_dims() == 4)
        .unwrap();
    let name = t.name.clone();
    let n = t.shape.num_elements();
    t.shape = vec![n].into();
    let e = refused(load_for_inference(&with_weights(tensors), &device));
    assert!(matches!(e, ModelFileError::Weights(_)), "{e:?}");
    assert!(e.to_string().contains(&name), "{e}");

    let mut tensors = shipped_tensors();
    let gone = tensors.remove(3).name;
    let e = refused(load_for_inference(&with_weights(tensors), &device));
    assert!(e.to_string().contains(&gone), "{e}");
}
