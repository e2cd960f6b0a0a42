//! Paths to the shared real data.
#![allow(dead_code)]

use std::path::PathBuf;

pub fn data(rel: &str) -> PathBuf {
    PathBuf::from(lungseg::SHARED_DATA).join(rel)
}

pub fn read(rel: &str) -> Vec<u8> {
    let p = data(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("gzip");
    out
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}
