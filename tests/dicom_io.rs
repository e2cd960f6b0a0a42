//! DICOM series from real files: the shared LIDC and pydicom slices, and LIDC slice 0
//! re-encoded by GDCM in compressed syntaxes (tests/fixtures/dicom/make.sh). Expected values
//! were read once with pydicom 3.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::read;
use lungseg::volume::{DicomSet, VolumeError, read_nifti};

fn fixture(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dicom")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn lidc_pair_equals_the_shared_nifti_voxel_for_voxel() {
    let mut set = DicomSet::new();
    // Given in reverse: order comes from ImagePositionPatient, not from the names.
    set.add("b.dcm", &read("fixtures/lidc_chest_slice1.dcm"));
    set.add("a.dcm", &read("fixtures/lidc_chest_slice0.dcm"));
    let d = set.volume(None).expect("the LIDC pair opens");
    let nifti = read_nifti(&read("fixtures/lidc_chest_2slices_hu.nii.gz")).expect("nifti");
    assert_eq!(d.volume.dims(), [512, 512, 2]);
    assert_eq!(d.volume.data, nifti.data);
    let g = &d.volume.geometry;
    assert_eq!(g.spacing, [0.625, 0.625, 1.0]);
    assert!(g.spacing_known);
    // LPS (DICOM) to RAS (NIfTI): x and y negated; z steps +1 mm from the positions.
    assert_eq!(g.affine[0][0], -0.625);
    assert_eq!(g.affine[1][1], -0.625);
    assert_eq!(g.affine[2][2], 1.0);
    // Shown as stored, like the NIfTI of the same slices.
    assert_eq!(
        g.view.to_display(g.dims, d.volume.slice(0)),
        nifti
            .geometry
            .view
            .to_display(nifti.geometry.dims, nifti.slice(0))
    );
    assert_eq!(d.series.files, 2);
    assert!(d.series.modality.is_none());
    assert!(
        d.warnings.iter().any(|w| w.contains("no Modality")),
        "{:?}",
        d.warnings
    );
    assert!(d.volume.series.is_some());
}

#[test]
fn pydicom_ct_small_rescaled_to_hu() {
    let mut set = DicomSet::new();
    set.add("CT_small.dcm", &read("fixtures/pydicom_CT_small.dcm"));
    let d = set.volume(None).expect("opens");
    let v = &d.volume;
    assert_eq!(v.dims(), [128, 128, 1]);
    // pydicom: pixel_array * slope + intercept, [row, col].
    let at = |row: usize, col: usize| v.data[col + 128 * row];
    assert_eq!(at(64, 32), 354.0);
    assert_eq!(at(10, 100), 203.0);
    let (lo, hi) = v
        .data
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    assert_eq!((lo, hi), (-896.0, 1167.0));
    assert!((v.geometry.spacing[0] - 0.661468).abs() < 1e-5);
    // One slice: its spacing is the recorded thickness.
    assert_eq!(v.geometry.spacing[2], 5.0);
    assert_eq!(d.series.modality.as_deref(), Some("CT"));
    // The origin is ImagePositionPatient in RAS.
    assert!((v.geometry.affine[0][3] - 158.135803).abs() < 1e-3);
    assert!((v.geometry.affine[1][3] - 179.035797).abs() < 1e-3);
    assert!((v.geometry.affine[2][3] + 75.699997).abs() < 1e-3);
}

#[test]
fn lossless_compressed_syntaxes_decode_to_the_uncompressed_pixels() {
    let mut plain = DicomSet::new();
    plain.add("raw.dcm", &read("fixtures/lidc_chest_slice0.dcm"));
    let want = plain.volume(None).expect("raw").volume.data;
    for (file, syntax) in [
        ("lidc0_jpeg_lossless.dcm", "JPEG Lossless"),
        ("lidc0_j2k_lossless.dcm", "JPEG 2000"),
        ("lidc0_rle.dcm", "RLE"),
    ] {
        let mut set = DicomSet::new();
        set.add(file, &fixture(file));
        assert!(set.skipped().is_empty(), "{file}: {:?}", set.skipped());
        let d = set.volume(None).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(
            d.volume.source_type.contains(syntax),
            "{file}: {}",
            d.volume.source_type
        );
        assert!(
            d.volume.data == want,
            "{file} differs from the uncompressed slice"
        );
    }
}

#[test]
fn undecodable_syntax_is_refused_with_its_name_and_uid_and_the_rest_opens() {
    let mut set = DicomSet::new();
    set.add("jls.dcm", &fixture("lidc0_jpegls.dcm"));
    set.add("notes.txt", b"not a scan at all, just some text that is long enough to pass 132 bytes of length checks ......................................................");
    let whole = read("fixtures/lidc_chest_slice1.dcm");
    set.add("cut.dcm", &whole[..whole.len() / 2]);
    set.add("a.dcm", &read("fixtures/lidc_chest_slice0.dcm"));
    let skipped = set.skipped();
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    let jls = &skipped
        .iter()
        .find(|s| s.name == "jls.dcm")
        .expect("jls skipped")
        .reason;
    assert!(
        jls.contains("JPEG-LS") && jls.contains("1.2.840.10008.1.2.4.80"),
        "{jls}"
    );
    let txt = &skipped
        .iter()
        .find(|s| s.name == "notes.txt")
        .expect("txt skipped")
        .reason;
    assert!(txt.contains("not a DICOM file"), "{txt}");
    assert!(skipped.iter().any(|s| s.name == "cut.dcm"));
    let d = set.volume(None).expect("the good slice still opens");
    assert_eq!(d.volume.dims(), [512, 512, 1]);
    assert!(
        d.warnings.iter().any(|w| w.contains("3 file(s) skipped")),
        "{:?}",
        d.warnings
    );
}

#[test]
fn several_series_must_be_chosen_and_a_duplicate_is_dropped() {
    let mut set = DicomSet::new();
    set.add("a.dcm", &read("fixtures/lidc_chest_slice0.dcm"));
    set.add("a-copy.dcm", &read("fixtures/lidc_chest_slice0.dcm"));
    set.add("b.dcm", &read("fixtures/lidc_chest_slice1.dcm"));
    set.add("ct_small.dcm", &read("fixtures/pydicom_CT_small.dcm"));
    let series = set.series();
    assert_eq!(series.len(), 2);
    assert_eq!(series[0].files, 3, "largest first");
    match set.volume(None) {
        Err(VolumeError::Series(m)) => {
            assert!(m.contains("2 series") && m.contains(&series[1].uid), "{m}")
        }
        other => panic!("expected a choice, got {other:?}"),
    }
    let d = set.volume(Some(&series[0].uid)).expect("chosen series");
    assert_eq!(d.volume.dims(), [512, 512, 2]);
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("at a position another image"))
            || d.warnings.iter().any(|w| w.contains("duplicate")),
        "{:?}",
        d.warnings
    );
    let small = set
        .volume(Some("1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322"))
        .expect("CT_small");
    assert_eq!(small.volume.dims(), [128, 128, 1]);
    assert!(matches!(
        set.volume(Some("9.9.9")),
        Err(VolumeError::Series(_))
    ));
}
