//! Declared DICOM element lengths checked against the bytes that follow them, before dicom-rs
//! reads the file: dicom-rs reserves each value's declared length up front, so a corrupt or
//! hostile 4-byte length (up to 4 GiB) would otherwise grow the page's memory for good. Found by
//! the `dicom` fuzz target. The walk uses dicom-rs's own header decoders for every transfer
//! syntax it reads; a deflated data set is inflated under a ratio cap first (a deflate bomb is
//! refused, not expanded).

use std::io::{Cursor, Read};

use dicom_core::header::Header;
use dicom_core::{Tag, VR};
use dicom_encoding::TransferSyntaxIndex;
use dicom_encoding::transfer_syntax::Codec;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

const TRANSFER_SYNTAX: Tag = Tag(0x0002, 0x0010);
const PIXEL_DATA: Tag = Tag(0x7FE0, 0x0010);
const ITEM: Tag = Tag(0xFFFE, 0xE000);
const SEQUENCE_DELIMITER: Tag = Tag(0xFFFE, 0xE0DD);

/// A deflated data set may inflate to at most this many times its compressed size (or
/// [`INFLATE_FLOOR`], whichever is larger). Real CT inflates 1.5–3×, headers of a few kB up to
/// ~30×.
pub const INFLATE_RATIO: u64 = 200;
/// Small files are allowed this much inflated data whatever their ratio.
pub const INFLATE_FLOOR: u64 = 64 << 20;

/// Refuses a file in which any element claims more bytes than follow it. Files dicom-rs cannot
/// decode at all pass through, so that its own message reaches the user.
pub fn check_lengths(bytes: &[u8]) -> Result<(), String> {
    let start = if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        132
    } else if bytes.starts_with(b"DICM") {
        4
    } else {
        return Ok(());
    };
    let meta = &bytes[start..];
    let explicit_le = TransferSyntaxRegistry
        .get("1.2.840.10008.1.2.1")
        .expect("explicit VR little endian is always registered");
    let Some((group_length, first)) = meta_group_length(meta, explicit_le) else {
        return Ok(());
    };
    // dicom-rs reads the meta group by its declared group length, whatever groups it holds.
    let (meta_end, uid) = walk(meta, explicit_le, first, first + group_length)?;
    let Some(ts) = uid.and_then(|u| TransferSyntaxRegistry.get(&u)) else {
        return Ok(());
    };
    let dataset = &meta[meta_end..];
    if matches!(ts.codec(), Codec::Dataset(_)) {
        let inflated = inflate_capped(dataset)?;
        walk(&inflated, ts, 0, u64::MAX).map(|_| ())
    } else {
        walk(dataset, ts, 0, u64::MAX).map(|_| ())
    }
}

/// The value of (0002,0000), which must come first and be 4 bytes long. Read as dicom-rs reads
/// it, whatever VR it is written with (a fuzz finding: a group length written as TM was
/// skipped here and dicom-rs then reserved a later element's 3 GB length).
/// Returns the length and where the group's elements start.
fn meta_group_length(
    meta: &[u8],
    explicit_le: &dicom_encoding::TransferSyntax,
) -> Option<(u64, u64)> {
    let decoder = explicit_le.decoder_for::<Cursor<&[u8]>>()?;
    let mut cur = Cursor::new(meta);
    let (header, _) = decoder.decode_header(&mut cur).ok()?;
    let at = cur.position() as usize;
    (header.tag() == Tag(0x0002, 0x0000) && header.len.get() == Some(4))
        .then(|| meta.get(at..at + 4))
        .flatten()
        .map(|v| {
            (
                u64::from(u32::from_le_bytes(v.try_into().unwrap())),
                at as u64 + 4,
            )
        })
}

/// Walks element headers of `data` from byte `from` to `until` (or the end); returns where the walk stopped and the
/// transfer syntax UID if (0002,0010) was met. Stops at the first undecodable header.
fn walk(
    data: &[u8],
    ts: &dicom_encoding::TransferSyntax,
    from: u64,
    until: u64,
) -> Result<(usize, Option<String>), String> {
    let Some(decoder) = ts.decoder_for::<Cursor<&[u8]>>() else {
        return Ok((0, None));
    };
    let total = data.len() as u64;
    let mut cur = Cursor::new(data);
    cur.set_position(from);
    let mut uid = None;
    let mut in_fragments = false;
    loop {
        let at = cur.position();
        if at >= total.min(until) {
            break;
        }
        let Ok((header, _)) = decoder.decode_header(&mut cur) else {
            cur.set_position(at);
            break;
        };
        let tag = header.tag();
        let Some(len) = header.len.get() else {
            in_fragments |= tag == PIXEL_DATA;
            continue;
        };
        let len = u64::from(len);
        let remaining = total - cur.position();
        if len > remaining {
            return Err(format!(
                "element ({:04X},{:04X}) claims {len} bytes but only {remaining} follow: the file is truncated or its header is corrupt",
                tag.group(),
                tag.element()
            ));
        }
        if tag == SEQUENCE_DELIMITER {
            in_fragments = false;
        }
        // Items of a sequence and sequences hold further elements; fragments of encapsulated
        // pixel data hold raw bytes.
        let descend =
            tag.group() == 0xFFFE && !(tag == ITEM && in_fragments) || header.vr() == VR::SQ;
        if descend {
            continue;
        }
        if tag == TRANSFER_SYNTAX && len <= 64 {
            let mut value = vec![0u8; len as usize];
            cur.read_exact(&mut value).map_err(|e| e.to_string())?;
            let s = String::from_utf8_lossy(&value);
            uid = Some(
                s.trim_matches(|c: char| c == '\0' || c.is_whitespace())
                    .to_string(),
            );
        } else {
            cur.set_position(cur.position() + len);
        }
    }
    Ok((cur.position() as usize, uid))
}

fn inflate_capped(deflated: &[u8]) -> Result<Vec<u8>, String> {
    let limit = INFLATE_FLOOR.max(INFLATE_RATIO.saturating_mul(deflated.len() as u64));
    let inflate = || flate2::read::DeflateDecoder::new(deflated).take(limit + 1);
    // Counted first without keeping it, so that a bomb costs time, not memory. A corrupt
    // stream is left to dicom-rs to report; only its size matters here.
    let size = std::io::copy(&mut inflate(), &mut std::io::sink()).unwrap_or(0);
    if size > limit {
        return Err(format!(
            "its deflated data set expands past {} MiB from {} kB (over {}×, the limit): refused as a decompression bomb",
            limit >> 20,
            deflated.len() / 1000,
            limit / deflated.len().max(1) as u64
        ));
    }
    let mut out = Vec::with_capacity(size as usize);
    let _ = inflate().read_to_end(&mut out);
    Ok(out)
}
