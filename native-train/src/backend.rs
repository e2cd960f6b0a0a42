//! Choosing the device: `flex` (CPU) is always there; GPU backends are compile-time features.

use burn::prelude::*;

pub fn device(name: &str) -> Result<Device, String> {
    match name {
        "flex" => Ok(Device::flex()),
        #[cfg(feature = "wgpu")]
        "wgpu" => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
        #[cfg(feature = "vulkan")]
        "vulkan" => Ok(Device::vulkan(burn::tensor::DeviceKind::DefaultDevice)),
        #[cfg(feature = "cuda")]
        "cuda" => Ok(Device::cuda(0)),
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
