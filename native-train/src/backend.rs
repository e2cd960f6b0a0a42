//! Choosing the device: `flex` (CPU) is always there; GPU backends are compile-time features.

use crate::error::TrainError;
use burn::prelude::*;

pub fn device(name: &str) -> anyhow::Result<Device> {
    opens(name, None)
}

/// `n` devices of one backend for data-parallel training: with one, the same device as
/// [`device`]; with several, GPUs 0 to n − 1, each of which must open. On `flex` they are `n`
/// workers sharing the CPU (how the data-parallel path is tested; on two cores, two workers
/// also keep both busier than one).
pub fn devices(name: &str, n: usize) -> anyhow::Result<Vec<Device>> {
    match n {
        0 => Err(TrainError::Options("--devices must be at least 1".into()).into()),
        1 => Ok(vec![device(name)?]),
        n => (0..n)
            .map(|i| {
                opens(name, Some(i)).map_err(|e| {
                    TrainError::Backend(format!(
                        "{e} (--devices {n} trains on GPUs 0 to {})",
                        n - 1
                    ))
                    .into()
                })
            })
            .collect(),
    }
}

/// `index`: which GPU (None = the backend's default device).
#[cfg_attr(
    not(any(feature = "wgpu", feature = "vulkan", feature = "cuda")),
    allow(unused_variables)
)]
fn opens(name: &str, index: Option<usize>) -> anyhow::Result<Device> {
    #[cfg(any(feature = "wgpu", feature = "vulkan"))]
    let kind = index.map_or(burn::tensor::DeviceKind::DefaultDevice, |i| {
        burn::tensor::DeviceKind::DiscreteGpu(i)
    });
    match name {
        "flex" => Ok(Device::flex()),
        #[cfg(feature = "wgpu")]
        "wgpu" => opened(name, index, move || Device::wgpu(kind)),
        #[cfg(feature = "vulkan")]
        "vulkan" => opened(name, index, move || Device::vulkan(kind)),
        #[cfg(feature = "cuda")]
        "cuda" => opened(name, index, move || Device::cuda(index.unwrap_or(0))),
        // Reached only by the names whose feature is off (the arms above take the others).
        #[allow(unreachable_patterns)]
        "wgpu" | "vulkan" | "cuda" => Err(TrainError::Backend(format!(
            "backend `{name}` was not compiled in; rebuild with `cargo run -p native-train --release --features {name} -- …`"
        ))
        .into()),
        other => Err(TrainError::Backend(format!(
            "unknown backend `{other}` (flex, wgpu, vulkan or cuda)"
        ))
        .into()),
    }
}

/// Opens a GPU device and runs one tiny operation on it. Without an adapter (no GPU, or its
/// Vulkan driver or loader missing) CubeCL panics in its own thread and then in ours, which would
/// end the command with two backtraces; this turns that into one error that names the cause.
#[cfg(any(feature = "wgpu", feature = "vulkan", feature = "cuda"))]
fn opened(
    name: &str,
    index: Option<usize>,
    open: impl FnOnce() -> Device + std::panic::UnwindSafe,
) -> anyhow::Result<Device> {
    use std::sync::{Arc, Mutex};
    let first: Arc<Mutex<Option<String>>> = Arc::default();
    let seen = first.clone();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let mut first = seen.lock().unwrap_or_else(|e| e.into_inner());
        if first.is_none() {
            *first = Some(info.payload_as_str().unwrap_or("unknown panic").to_string());
        }
    }));
    let result = std::panic::catch_unwind(|| {
        let device = open();
        Tensor::<1>::zeros([1], &device).into_data();
        device
    });
    std::panic::set_hook(hook);
    result.map_err(|_| {
        let cause = first.lock().unwrap_or_else(|e| e.into_inner()).take();
        let which = index.map_or("the GPU".to_string(), |i| format!("GPU {i}"));
        anyhow::Error::from(TrainError::Backend(format!(
            "backend `{name}`: {which} could not be opened ({}); check the driver (for wgpu/vulkan: \
             the Vulkan loader libvulkan1 and the vendor's ICD), or use `--backend flex`",
            cause.unwrap_or_else(|| "no reason given".into())
        )))
    })
}
