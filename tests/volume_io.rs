//! NIfTI reading and writing on the real fixtures, and every kind of bad input.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{data, gunzip, gzip, read};
use lungseg::intensity::{IntensityKind, detect, lung_window};
use lungseg::volume::{VolumeError, read_nifti, read_nifti_from, write_mask_nifti};

#[test]
fn reads_lidc_hounsfield_volume() {
    let v = read_nifti(&read("fixtures/lidc_chest_2slices_hu.nii.gz")).expect("LIDC reads");
    assert_eq!(v.dims(), [512, 512, 2]);
    assert_eq!(v.source_type, "int16");
    assert_eq!(v.geometry.spacing, [0.625, 0.625, 1.0]);
    assert!(v.geometry.spacing_known);
    let at = |i: usize, j: usize, k: usize| v.data.get(i + 512 * (j + 512 * k));
    // Values checked with nibabel.
    assert_eq!(at(256, 100, 0), -923.0);
    assert_eq!(at(256, 400, 0), -8.0);
    let (min, max) = v
        .data
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), x| (a.min(x), b.max(x)));
    assert_eq!((min, max), (-2048.0, 1502.0));
    // Both slices hold the same pixels.
    assert_eq!(v.slice(0), v.slice(1));
    assert_eq!(v.geometry.affine[0][0], 0.625);
    let m = detect(&v, lung_window()).expect("is CT");
    assert_eq!(m.kind, IntensityKind::Hounsfield);
}

#[test]
fn reads_medseg_volume_and_masks() {
    let img = read_nifti(&read("medseg/train/image.nii.gz")).expect("image");
    assert_eq!(img.dims(), [512, 512, 52]);
    assert_eq!(img.source_type, "uint8");
    assert_eq!(img.data.get(100 + 512 * 200), 77.0);
    assert_eq!(img.data.get(256 + 512 * (256 + 512 * 5)), 226.0);
    assert!(!img.geometry.spacing_known, "MedSeg records no spacing");
    assert_eq!(
        detect(&img, lung_window()).unwrap().kind,
        IntensityKind::Windowed8Bit
    );
    let bin = read_nifti(&read("medseg/train/mask_binary.nii.gz")).expect("binary mask");
    let cls = read_nifti(&read("medseg/train/mask_classes.nii.gz")).expect("class mask");
    assert_eq!(bin.data.iter().filter(|&v| v == 1.0).count(), 906_311);
    assert_eq!(bin.slice(0).iter().filter(|&&v| v == 1.0).count(), 35_781);
    assert!(
        bin.slice(40).iter().all(|&v| v == 0.0),
        "medseg_index 48 (z = 40) has an empty mask"
    );
    let count = |c: f32| cls.data.iter().filter(|&v| v == c).count();
    assert_eq!(
        [count(1.0), count(2.0), count(3.0), count(255.0)],
        [560_121, 326_093, 19_700, 397]
    );
}

#[test]
fn mask_round_trips_with_the_scan_geometry() {
    let v = read_nifti(&read("fixtures/lidc_chest_2slices_hu.nii.gz")).unwrap();
    let labels: Vec<u8> = (0..v.data.len())
        .map(|i| (i % 7 == 0) as u8 + (i % 11 == 0) as u8)
        .collect();
    let bytes = write_mask_nifti(&v.geometry, &labels, "test mask").expect("writes");
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "gzip output");
    let back = read_nifti(&bytes).expect("reads back");
    assert_eq!(back.dims(), v.dims());
    assert_eq!(back.geometry.spacing, v.geometry.spacing);
    assert_eq!(back.geometry.affine, v.geometry.affine);
    assert_eq!(back.geometry.view, v.geometry.view);
    assert_eq!(back.source_type, "uint8");
    assert!(back.data.iter().zip(&labels).all(|(a, &b)| a == b as f32));
    let h = &back.geometry.header;
    assert_eq!(
        (h.sform_code, h.qform_code),
        (v.geometry.header.sform_code, v.geometry.header.qform_code)
    );
    assert_eq!(h.intent_code, 1002, "NIFTI_INTENT_LABEL");
}

#[test]
fn uncompressed_nii_reads_the_same() {
    let gz = read("fixtures/lidc_chest_2slices_hu.nii.gz");
    let a = read_nifti(&gz).unwrap();
    let b = read_nifti(&gunzip(&gz)).unwrap();
    assert_eq!(a.data, b.data);
    assert_eq!(a.geometry.affine, b.geometry.affine);
}

/// The uncompressed LIDC header with a field patched.
fn patched(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut raw = gunzip(&read("fixtures/lidc_chest_2slices_hu.nii.gz"));
    f(&mut raw);
    raw
}

fn set_i16(raw: &mut [u8], offset: usize, v: i16) {
    raw[offset..offset + 2].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn bad_input_gets_a_clear_error() {
    let gz = read("fixtures/lidc_chest_2slices_hu.nii.gz");
    assert_eq!(read_nifti(&[]).unwrap_err(), VolumeError::Empty);
    assert!(matches!(
        read_nifti(b"hello, this is not a scan").unwrap_err(),
        VolumeError::NotNifti(_)
    ));
    assert!(matches!(
        read_nifti(&read("fixtures/lidc_chest_slice0.dcm")).unwrap_err(),
        VolumeError::NotNifti(_)
    ));

    // Truncated .nii.gz: the gzip stream ends early.
    let e = read_nifti(&gz[..gz.len() / 2]).unwrap_err();
    assert!(
        matches!(
            e,
            VolumeError::CorruptGzip(_) | VolumeError::Truncated { .. }
        ),
        "{e:?}"
    );
    // Corrupt gzip: bytes flipped in the middle of the deflate stream.
    let mut bad = gz.clone();
    for b in &mut bad[gz.len() / 3..gz.len() / 3 + 64] {
        *b ^= 0x5a;
    }
    assert!(
        matches!(read_nifti(&bad).unwrap_err(), VolumeError::CorruptGzip(_)),
        "corrupt gzip"
    );
    // Truncated .nii: fewer voxel bytes than the header promises.
    let raw = gunzip(&gz);
    let e = read_nifti(&raw[..raw.len() - 1000]).unwrap_err();
    assert_eq!(
        e,
        VolumeError::Truncated {
            expected: 512 * 512 * 2 * 2,
            available: 512 * 512 * 2 * 2 - 1000
        }
    );
    assert!(e.to_string().contains("truncated"));
    // A header that lies: claims 300 slices.
    let e = read_nifti(&patched(|r| set_i16(r, 46, 300))).unwrap_err();
    assert!(matches!(e, VolumeError::Truncated { .. }), "{e:?}");
    // 4-D with 5 time points.
    let e = read_nifti(&patched(|r| {
        set_i16(r, 40, 4);
        set_i16(r, 48, 5)
    }))
    .unwrap_err();
    assert!(
        matches!(e, VolumeError::Dimensions(ref m) if m.contains("4-D")),
        "{e:?}"
    );
    // 4-D with a single time point is just a 3-D volume.
    let v = read_nifti(&patched(|r| {
        set_i16(r, 40, 4);
        set_i16(r, 48, 1)
    }))
    .expect("4-D with one time point");
    assert_eq!(v.dims(), [512, 512, 2]);
    // A 1-voxel volume.
    let e = read_nifti(&patched(|r| {
        for o in [42, 44, 46] {
            set_i16(r, o, 1);
        }
    }))
    .unwrap_err();
    assert!(matches!(e, VolumeError::Dimensions(_)), "{e:?}");
    // Absurd dimensions: refused from the header alone, before allocating.
    let e = read_nifti(&patched(|r| {
        for o in [42, 44, 46] {
            set_i16(r, o, 4000);
        }
    }))
    .unwrap_err();
    assert!(
        matches!(
            e,
            VolumeError::TooLarge {
                voxels: 64_000_000_000,
                ..
            }
        ),
        "{e:?}"
    );
    // Absurd even compressed: the same lie inside a .nii.gz.
    let lie = gzip(&patched(|r| set_i16(r, 46, 3000)));
    assert!(matches!(
        read_nifti(&lie).unwrap_err(),
        VolumeError::TooLarge { .. }
    ));
    // A lying header inside a small .nii.gz: 512×512×600 int16 (315 MB) from a 0.5 MB file is
    // refused before anything is expanded, naming the sizes and the limit.
    let lie = gzip(&patched(|r| {
        set_i16(r, 42, 512);
        set_i16(r, 44, 512);
        set_i16(r, 46, 600)
    }));
    let e = read_nifti(&lie).unwrap_err();
    assert!(
        matches!(
            e,
            VolumeError::GzipBomb {
                claimed: 314_572_804,
                ..
            }
        ) && e.to_string().contains("decompression bomb"),
        "{e:?}"
    );
    // Unsupported data type: complex64 (32).
    let e = read_nifti(&patched(|r| {
        set_i16(r, 70, 32);
        set_i16(r, 72, 64)
    }))
    .unwrap_err();
    assert!(matches!(e, VolumeError::DataType(_)), "{e:?}");
    // Negative dimensions.
    let e = read_nifti(&patched(|r| set_i16(r, 42, -5))).unwrap_err();
    assert!(matches!(e, VolumeError::Header(_)), "{e:?}");
    // A non-CT image: float values 0–1500 (an MR-like range) are refused by the intensity check.
    let mut v = read_nifti(&gz).unwrap();
    v.data = v
        .data
        .iter()
        .map(|x| (x + 2048.0) * 0.3 + 0.25)
        .collect::<Vec<_>>()
        .into();
    v.source_type = "float32".into();
    let e = detect(&v, lung_window()).unwrap_err();
    assert!(
        matches!(e, VolumeError::NotCt(_)) && e.to_string().contains("CT"),
        "{e}"
    );
}

#[test]
fn int16_scans_are_held_as_int16_and_fractions_as_f32() {
    // A 600-slice chest CT is 300 MB as int16: the page holds it at that, not as f32 (600 MB).
    let v = read_nifti(&read("fixtures/lidc_chest_2slices_hu.nii.gz")).unwrap();
    assert_eq!(v.data.held_as(), "int16");
    assert_eq!(v.data.bytes(), 2 * 512 * 512 * 2);
    // A slope of 0.5 makes half-HU values: f32, and still exact.
    let halves = read_nifti(&patched(|r| {
        r[112..116].copy_from_slice(&0.5f32.to_le_bytes())
    }))
    .unwrap();
    assert_eq!(halves.data.held_as(), "float32");
    let whole = read_nifti(&gunzip(&read("fixtures/lidc_chest_2slices_hu.nii.gz"))).unwrap();
    assert!(
        (0..whole.data.len())
            .step_by(101)
            .all(|i| halves.data.get(i) == whole.data.get(i) * 0.5)
    );
}

#[test]
fn a_stream_read_a_byte_at_a_time_gives_the_same_scan() {
    // The page reads the file from its JS array in pieces; the smallest pieces must do too.
    for name in [
        "fixtures/lidc_chest_2slices_hu.nii.gz",
        "medseg/train/image.nii.gz",
    ] {
        let bytes = read(name);
        let whole = read_nifti(&bytes).unwrap();
        for bytes in [bytes.clone(), gunzip(&bytes)] {
            let stream = std::io::BufReader::with_capacity(1, bytes.as_slice());
            let streamed = read_nifti_from(stream, bytes.len() as u64).unwrap();
            assert!(streamed.data == whole.data, "{name}");
            assert_eq!(streamed.geometry.dims, whole.geometry.dims);
        }
    }
}

#[test]
fn scl_slope_and_inter_are_applied() {
    let raw = patched(|r| {
        r[112..116].copy_from_slice(&2.0f32.to_le_bytes());
        r[116..120].copy_from_slice(&(-10.0f32).to_le_bytes());
    });
    let v = read_nifti(&raw).unwrap();
    assert_eq!(v.data.get(256 + 512 * 100), -923.0 * 2.0 - 10.0);
}

#[test]
fn the_shared_data_is_where_tests_expect_it() {
    assert!(data("medseg/train/slices.csv").exists());
}

/// A gzip bomb: a real header for 512×512×600 int16 with 315 MB of zeros, which gzip to
/// 0.3 MB (1,000×). Refused before it is expanded; the same header with CT-like noise
/// (which expands ~2×) opens.
#[test]
fn a_gzip_bomb_is_refused_and_an_honest_large_file_is_not() {
    use std::io::Write;
    let mut head = patched(|r| {
        set_i16(r, 42, 512);
        set_i16(r, 44, 512);
        set_i16(r, 46, 600)
    });
    let offset = f32::from_le_bytes(head[108..112].try_into().unwrap()) as usize;
    head.truncate(offset);
    let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    bomb.write_all(&head).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..300 {
        bomb.write_all(&zeros).unwrap();
    }
    bomb.write_all(&zeros[..512 * 512 * 600 * 2 - 300 * (1 << 20)])
        .unwrap();
    let bomb = bomb.finish().unwrap();
    assert!(bomb.len() < 400_000, "{}", bomb.len());
    let e = read_nifti(&bomb).unwrap_err();
    assert!(matches!(e, VolumeError::GzipBomb { .. }), "{e:?}");
    // The same geometry at 64×64×600 with noisy HU opens (it expands under 3×).
    let mut small = patched(|r| {
        set_i16(r, 42, 64);
        set_i16(r, 44, 64);
        set_i16(r, 46, 600)
    });
    small.truncate(offset);
    let mut x = 12345u32;
    for _ in 0..64 * 64 * 600 {
        x = x.wrapping_mul(1664525).wrapping_add(1013904223);
        small.extend_from_slice(&((x >> 20) as i16 - 1024).to_le_bytes());
    }
    let v = read_nifti(&gzip(&small)).expect("honest file opens");
    assert_eq!(v.dims(), [64, 64, 600]);
}

/// A big-endian file (written by old SPARC/PowerPC tools and some converters): the LIDC fixture
/// with every numeric header field and every voxel byte-swapped reads to the same volume.
#[test]
fn big_endian_nii_reads_the_same() {
    let le = gunzip(&read("fixtures/lidc_chest_2slices_hu.nii.gz"));
    let mut be = le.clone();
    // The NIfTI-1 header's numeric fields: (offset, size, count).
    let fields = [
        (0, 4, 1),    // sizeof_hdr
        (32, 4, 1),   // extents
        (36, 2, 1),   // session_error
        (40, 2, 8),   // dim
        (56, 4, 3),   // intent_p1..3
        (68, 2, 4),   // intent_code, datatype, bitpix, slice_start
        (76, 4, 8),   // pixdim
        (108, 4, 3),  // vox_offset, scl_slope, scl_inter
        (120, 2, 1),  // slice_end
        (124, 4, 4),  // cal_max, cal_min, slice_duration, toffset
        (140, 4, 2),  // glmax, glmin
        (252, 2, 2),  // qform_code, sform_code
        (256, 4, 6),  // quatern_b..d, qoffset_x..z
        (280, 4, 12), // srow_x, srow_y, srow_z
    ];
    for (at, size, count) in fields {
        for i in 0..count {
            be[at + i * size..at + (i + 1) * size].reverse();
        }
    }
    let offset = f32::from_le_bytes(le[108..112].try_into().unwrap()) as usize;
    for v in be[offset..].chunks_exact_mut(2) {
        v.reverse();
    }
    let a = read_nifti(&le).unwrap();
    let b = read_nifti(&be).expect("big-endian reads");
    assert_eq!(a.dims(), b.dims());
    assert_eq!(a.geometry.affine, b.geometry.affine);
    assert!(a.data == b.data, "the voxels differ");
    // Gzipped alike.
    assert!(read_nifti(&gzip(&be)).unwrap().data == a.data);
}
