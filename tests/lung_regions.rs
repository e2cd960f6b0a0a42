//! The filter every prediction goes through (`LungField::keep_lung_regions`), on the real MedSeg
//! slices: annotated infection survives it, a region on the burned-in text does not, a region
//! that leaks through the chest wall to the edge of the image is kept whole, and so is pleural
//! effusion beside the lung.

mod common;

use common::data;
use lungseg::intensity::{detect, lung_window};
use lungseg::lung_field::{LungField, pixel_mm2};
use lungseg::volume::{Volume, read_nifti};

fn volume(rel: &str) -> Volume {
    let p = data(rel);
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    read_nifti(&bytes).expect(rel)
}

/// The MedSeg image, its binary masks and the image's lung field.
fn medseg() -> (Volume, Volume, LungField) {
    let image = volume("medseg/train/image.nii.gz");
    let masks = volume("medseg/train/mask_binary.nii.gz");
    let field = LungField::of(&image, &detect(&image, lung_window()).unwrap());
    (image, masks, field)
}

/// Slice `k` of a label volume as displayed, 1 where `label` holds.
fn displayed(labels: &Volume, k: usize, label: impl Fn(f32) -> bool) -> Vec<u8> {
    let g = &labels.geometry;
    g.view
        .to_display(g.dims, &labels.slice(k))
        .iter()
        .map(|&v| u8::from(label(v)))
        .collect()
}

/// Slice `k`'s annotated infection as displayed (1 = infected).
fn truth(masks: &Volume, k: usize) -> Vec<u8> {
    displayed(masks, k, |v| v > 0.5)
}

#[test]
fn lung_regions_keep_annotated_infection_and_drop_text() {
    let (image, masks, field) = medseg();
    let g = &image.geometry;
    let w = g.view.display_size(g.dims)[1];
    let mm2 = pixel_mm2(&image);
    let (mut infected, mut kept) = (0usize, 0usize);
    for k in 0..g.dims[2] {
        let truth = truth(&masks, k);
        let mut labels = truth.clone();
        field.keep_lung_regions(&mut labels, k, mm2);
        let n = truth.iter().filter(|&&l| l != 0).count();
        let m = labels.iter().filter(|&&l| l != 0).count();
        assert!(
            m * 100 >= n * 95,
            "slice {k}: only {m} of {n} annotated pixels kept"
        );
        (infected, kept) = (infected + n, kept + m);

        // A square on the burned-in text in the top left corner.
        let mut text = truth.clone();
        for r in 4..20 {
            for c in 4..20 {
                text[r * w + c] = 1;
            }
        }
        field.keep_lung_regions(&mut text, k, mm2);
        assert_eq!(text, labels, "slice {k}: the corner region must go");
    }
    assert!(
        kept as f64 >= 0.995 * infected as f64,
        "{kept} of {infected} annotated pixels kept"
    );
}

#[test]
fn a_region_leaking_to_the_image_edge_is_kept_whole() {
    // Slice 43: the posterior lesions of both lungs, extended straight down to the image's
    // bottom edge (as the one-view model's prediction leaked through the back muscles there).
    let (image, masks, field) = medseg();
    let g = &image.geometry;
    let [h, w] = g.view.display_size(g.dims);
    let k = 43;
    let mut labels = truth(&masks, k);
    let lowest = (0..h * w)
        .rev()
        .find(|&p| labels[p] != 0)
        .expect("slice 43 is infected");
    let (r0, c0) = (lowest / w, lowest % w);
    for r in r0..h {
        for c in c0.saturating_sub(3)..(c0 + 4).min(w) {
            labels[r * w + c] = 1;
        }
    }
    let before = labels.clone();
    field.keep_lung_regions(&mut labels, k, pixel_mm2(&image));
    assert!(before[(h - 1) * w + c0] != 0);
    assert_eq!(labels, before, "the region touching the edge is kept whole");
}

#[test]
fn pleural_effusion_against_the_lung_is_kept_on_its_own() {
    // Effusion lies beside the lung, not in it: predicted alone (no infection next to it), it
    // must still count as the lung's. Slices 41 and 46 hold the annotated effusion.
    let (image, _, field) = medseg();
    let classes = volume("medseg/train/mask_classes.nii.gz");
    let (mut effusion, mut kept) = (0, 0);
    for k in [41, 46] {
        let mut labels = displayed(&classes, k, |v| v.round() == 3.0);
        effusion += labels.iter().filter(|&&l| l != 0).count();
        field.keep_lung_regions(&mut labels, k, pixel_mm2(&image));
        kept += labels.iter().filter(|&&l| l != 0).count();
    }
    assert!(effusion > 1000, "{effusion} effusion pixels");
    assert!(
        kept * 100 >= effusion * 95,
        "{kept} of {effusion} effusion pixels kept"
    );
}
