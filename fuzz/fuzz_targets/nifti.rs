//! NIfTI bytes (`.nii` or `.nii.gz`) as a user drops them: read, and when they open, detect the
//! intensity scale, build the lung field and the statistics of an empty mask, as the page does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lungseg::intensity::{detect, lung_window};
use lungseg::lung_field::LungField;
use lungseg::quantify::statistics;
use lungseg::volume::{read_nifti, write_mask_nifti};

fuzz_target!(|data: &[u8]| {
    let Ok(volume) = read_nifti(data) else {
        return;
    };
    // Whole-volume steps are linear in the voxels; keep an iteration short.
    if volume.geometry.voxel_count() > 1 << 20 {
        return;
    }
    let Ok(mapping) = detect(&volume, lung_window()) else {
        return;
    };
    let field = LungField::of(&volume, &mapping);
    let labels = vec![0u8; volume.geometry.voxel_count()];
    let _ = statistics(&volume, &field, &labels, 2);
    let _ = write_mask_nifti(&volume.geometry, &labels, "fuzz");
});
