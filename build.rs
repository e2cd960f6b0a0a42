//! Finds the project's shared real data (`shared/data`, beside the checkout) for the tests,
//! which embed or read real scans, and passes its absolute path as `LUNGSEG_SHARED_DATA`.
//! Order: the `LUNGSEG_SHARED_DATA` environment variable, `../shared/data`, `/work/shared/data`.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LUNGSEG_SHARED_DATA");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let candidates = [
        std::env::var("LUNGSEG_SHARED_DATA").ok().map(PathBuf::from),
        Some(manifest.join("../shared/data")),
        Some(PathBuf::from("/work/shared/data")),
    ];
    let found = candidates
        .into_iter()
        .flatten()
        .find(|p| p.join("medseg/train/image.nii.gz").exists());
    let dir = match found {
        Some(p) => p.canonicalize().unwrap_or(p),
        None => {
            println!(
                "cargo:warning=shared data not found (set LUNGSEG_SHARED_DATA); tests that use real scans will not build"
            );
            manifest.join("../shared/data")
        }
    };
    println!("cargo:rustc-env=LUNGSEG_SHARED_DATA={}", dir.display());
}
