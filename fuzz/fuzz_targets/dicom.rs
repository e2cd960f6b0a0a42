//! DICOM bytes as files of a dropped folder: each input is split into up to four files at
//! 0xFF 0x00 'L' 'S' markers, so series of several files are explored too; then the series are
//! listed and the only (or largest) one is opened as a volume, as the page does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lungseg::volume::DicomSet;

const SPLIT: &[u8] = b"\xff\x00LS";

fuzz_target!(|data: &[u8]| {
    let mut set = DicomSet::new();
    let mut rest = data;
    for i in 0..4 {
        let end = rest
            .windows(SPLIT.len())
            .position(|w| w == SPLIT)
            .filter(|_| i < 3)
            .unwrap_or(rest.len());
        set.add(&format!("f{i}.dcm"), &rest[..end]);
        if end == rest.len() {
            break;
        }
        rest = &rest[end + SPLIT.len()..];
    }
    let series = set.series();
    if let Some(first) = series.first() {
        let _ = set.volume(Some(&first.uid));
    }
    let _ = set.volume(None);
});
