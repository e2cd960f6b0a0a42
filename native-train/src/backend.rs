//! Choosing the device: `flex` (CPU) is always there; GPU backends are compile-time features.

use burn::prelude::*;

pub fn device(name: &str) -> Result<Device, String> {
    match name {
        "flex" => Ok(Device::flex()),
        #[cfg(feature = "wgpu")]
        "wgpu" => opened(name, || {
            Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)
        }),
        #[cfg(feature = "vulkan")]
        "vulkan" => opened(name, || {
            Device::vulkan(burn::tensor::DeviceKind::DefaultDevice)
        }),
        #[cfg(feature = "cuda")]
        "cuda" => opened(name, || Device::cuda(0)),
        // Reached only by the names whose feature is off (the arms above take the others).
        #[allow(unreachable_patterns)]
        "wgpu" | "vulkan" | "cuda" => Err(format!(
            "backend `{name}` was not compiled in; rebuild with `cargo run -p native-train --release --features {name} -- …`"
        )),
        other => Err(format!(
            "unknown backend `{other}` (flex, wgpu, vulkan or cuda)"
        )),
    }
}

/// Opens a GPU device and runs one tiny operation on it. Without an adapter (no GPU, or its
/// Vulkan driver or loader missing) CubeCL panics in its own thread and then in ours, which would
/// end the command with two backtraces; this turns that into one error that names the cause.
#[cfg(any(feature = "wgpu", feature = "vulkan", feature = "cuda"))]
fn opened(
    name: &str,
    open: impl FnOnce() -> Device + std::panic::UnwindSafe,
) -> Result<Device, String> {
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
        format!(
            "backend `{name}`: the GPU could not be opened ({}); check the driver (for wgpu/vulkan: \
             the Vulkan loader libvulkan1 and the vendor's ICD), or use `--backend flex`",
            cause.unwrap_or_else(|| "no reason given".into())
        )
    })
}
