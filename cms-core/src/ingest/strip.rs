//! Removing metadata from originals before they are published: EXIF (with GPS above all),
//! XMP and IPTC blocks go; pixels, colour profiles and everything needed to display the image
//! stay — a JPEG's orientation included, written back as an EXIF block of that one tag, so
//! the original shows the right way up like its derivatives. A file that cannot be read to
//! the end is an error, never published as it came (it could still carry a location).

/// Strips metadata from a file of the given MIME type; `orientation` (1–8) is kept in a JPEG.
pub fn strip(bytes: &[u8], mime: &str, orientation: u32) -> Result<Vec<u8>, String> {
    let out = match mime {
        "image/jpeg" => jpeg(bytes, orientation),
        "image/png" => png(bytes),
        "image/webp" => webp(bytes),
        // GIF has no EXIF, XMP or IPTC blocks of its own.
        "image/gif" => Some(bytes.to_vec()),
        other => return Err(format!("cannot remove the metadata of {other}")),
    };
    out.ok_or_else(|| format!("its {mime} structure could not be read to the end"))
}

/// A JPEG APP1 segment holding an EXIF block with the orientation tag alone.
fn orientation_segment(orientation: u32) -> Vec<u8> {
    let o = u16::try_from(orientation).unwrap_or(1);
    let mut s = vec![0xFF, 0xE1, 0x00, 0x22];
    s.extend_from_slice(b"Exif\0\0");
    // TIFF header (big-endian), first IFD at offset 8.
    s.extend_from_slice(b"MM\0\x2A\0\0\0\x08");
    // One entry: tag 0x0112 (Orientation), type SHORT, count 1, the value, padding.
    s.extend_from_slice(&[0x00, 0x01, 0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01]);
    s.extend_from_slice(&o.to_be_bytes());
    s.extend_from_slice(&[0x00, 0x00]);
    // No next IFD.
    s.extend_from_slice(&[0x00, 0x00, 0x00, 0x00]);
    s
}

/// JPEG: drops APP1 (EXIF and XMP) and APP13 (IPTC) segments before the image data, and puts
/// the orientation back (after JFIF's APP0, when there is one) when it is not the default.
fn jpeg(b: &[u8], orientation: u32) -> Option<Vec<u8>> {
    if b.len() < 4 || b[0] != 0xFF || b[1] != 0xD8 {
        return None;
    }
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..2]);
    let mut pending = (2..=8)
        .contains(&orientation)
        .then(|| orientation_segment(orientation));
    let mut i = 2;
    while i + 4 <= b.len() {
        if b[i] != 0xFF {
            return None;
        }
        let marker = b[i + 1];
        if marker == 0xFF {
            i += 1; // fill byte
            continue;
        }
        if marker != 0xE0
            && let Some(seg) = pending.take()
        {
            out.extend_from_slice(&seg);
        }
        if marker == 0xDA {
            // Start of scan: the rest is image data.
            out.extend_from_slice(&b[i..]);
            return Some(out);
        }
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            out.extend_from_slice(&b[i..i + 2]);
            i += 2;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        let end = i + 2 + len;
        if len < 2 || end > b.len() {
            return None;
        }
        if marker != 0xE1 && marker != 0xED {
            out.extend_from_slice(&b[i..end]);
        }
        i = end;
    }
    None
}

/// PNG: drops eXIf and text chunks (tEXt, zTXt, iTXt — XMP lives in iTXt).
fn png(b: &[u8]) -> Option<Vec<u8>> {
    const SIG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    if !b.starts_with(SIG) {
        return None;
    }
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(SIG);
    let mut i = SIG.len();
    while i + 12 <= b.len() {
        let len = u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize;
        let end = i.checked_add(12)?.checked_add(len)?;
        if end > b.len() {
            return None;
        }
        let kind = &b[i + 4..i + 8];
        if !matches!(kind, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt") {
            out.extend_from_slice(&b[i..end]);
        }
        i = end;
        if kind == b"IEND" {
            return Some(out);
        }
    }
    None
}

/// WebP: drops EXIF and XMP chunks and clears their flags in VP8X.
fn webp(b: &[u8]) -> Option<Vec<u8>> {
    if b.len() < 12 || &b[..4] != b"RIFF" || &b[8..12] != b"WEBP" {
        return None;
    }
    let mut body = Vec::with_capacity(b.len());
    body.extend_from_slice(b"WEBP");
    let mut i = 12;
    while i + 8 <= b.len() {
        let kind = &b[i..i + 4];
        let len = u32::from_le_bytes([b[i + 4], b[i + 5], b[i + 6], b[i + 7]]) as usize;
        let padded = len + (len & 1);
        let end = (i + 8).checked_add(padded)?.min(b.len());
        if i + 8 + len > b.len() {
            return None;
        }
        match kind {
            b"EXIF" | b"XMP " => {}
            b"VP8X" if len >= 1 => {
                let start = body.len();
                body.extend_from_slice(&b[i..end]);
                body[start + 8] &= !(0x08 | 0x04);
            }
            _ => body.extend_from_slice(&b[i..end]),
        }
        i = end;
    }
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&u32::try_from(body.len()).ok()?.to_le_bytes());
    out.extend_from_slice(&body);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_loses_exif_and_keeps_the_rest() {
        let mut f = vec![0xFF, 0xD8];
        f.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x04, 0x4A, 0x46]); // APP0
        let exif = b"Exif\0\0GPSLatitude 51.5";
        f.extend_from_slice(&[0xFF, 0xE1, 0x00, (exif.len() + 2) as u8]);
        f.extend_from_slice(exif);
        f.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 0x11, 0x22, 0xFF, 0xD9]);
        let out = strip(&f, "image/jpeg", 1).expect("strip");
        assert!(!out.windows(3).any(|w| w == b"GPS"));
        assert!(out.starts_with(&[0xFF, 0xD8, 0xFF, 0xE0]));
        assert!(out.ends_with(&[0xFF, 0xDA, 0x00, 0x02, 0x11, 0x22, 0xFF, 0xD9]));
        assert!(
            !out.windows(4).any(|w| w == b"Exif"),
            "no EXIF at all when upright"
        );
        // Rotated: the orientation alone comes back, right after APP0, readable by EXIF readers.
        let out = strip(&f, "image/jpeg", 6).expect("strip");
        assert!(!out.windows(3).any(|w| w == b"GPS"));
        assert_eq!(&out[2..4], &[0xFF, 0xE0]);
        let exif = exif::Reader::new()
            .read_raw(out[out.windows(4).position(|w| w == b"Exif").expect("exif") + 6..].to_vec())
            .expect("readable EXIF");
        let o = exif
            .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
            .and_then(|f| f.value.get_uint(0));
        assert_eq!(o, Some(6));
    }

    #[test]
    fn damaged_or_unknown_files_are_refused() {
        assert!(strip(b"\xFF\xD8\xFF", "image/jpeg", 1).is_err());
        assert!(strip(b"hello", "image/png", 1).is_err());
        assert!(strip(b"....", "image/heic", 1).is_err());
    }
}
