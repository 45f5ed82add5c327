//! Real image files made in the test: plain JPEGs and PNGs, a rotated JPEG carrying GPS in its
//! EXIF, a truncated JPEG, a pixel flood, zips with traps.

use std::io::Write;

/// A JPEG of `w`×`h` whose pixels depend on `seed` (so each has its own hash).
pub fn jpeg(w: u32, h: u32, seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            (x as u8).wrapping_add(seed),
            (y as u8).wrapping_mul(3),
            seed.wrapping_mul(7),
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .expect("encode");
    out
}

/// A PNG of random noise (it does not compress: about 3 bytes a pixel on disk).
pub fn noise_png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |_, _| image::Rgb(rand::random::<[u8; 3]>()));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode");
    out.into_inner()
}

/// A PNG with transparency.
pub fn png(w: u32, h: u32, seed: u8) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(w, h, |x, y| {
        image::Rgba([seed, x as u8, y as u8, if x < w / 2 { 0 } else { 255 }])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode");
    out.into_inner()
}

/// An EXIF block (APP1 payload) with orientation 6 (rotate 90° clockwise) and a GPS latitude.
fn exif_rotated_with_gps() -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(b"II*\0");
    t.extend_from_slice(&8u32.to_le_bytes());
    // IFD0: 2 entries.
    t.extend_from_slice(&2u16.to_le_bytes());
    // Orientation = 6.
    t.extend_from_slice(&0x0112u16.to_le_bytes());
    t.extend_from_slice(&3u16.to_le_bytes());
    t.extend_from_slice(&1u32.to_le_bytes());
    t.extend_from_slice(&6u16.to_le_bytes());
    t.extend_from_slice(&0u16.to_le_bytes());
    // GPS IFD pointer.
    let gps_offset: u32 = 8 + 2 + 2 * 12 + 4;
    t.extend_from_slice(&0x8825u16.to_le_bytes());
    t.extend_from_slice(&4u16.to_le_bytes());
    t.extend_from_slice(&1u32.to_le_bytes());
    t.extend_from_slice(&gps_offset.to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes());
    // GPS IFD: GPSLatitudeRef = "N".
    t.extend_from_slice(&1u16.to_le_bytes());
    t.extend_from_slice(&0x0001u16.to_le_bytes());
    t.extend_from_slice(&2u16.to_le_bytes());
    t.extend_from_slice(&2u32.to_le_bytes());
    t.extend_from_slice(b"N\0\0\0");
    t.extend_from_slice(&0u32.to_le_bytes());
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&t);
    app1
}

/// A landscape JPEG (`w` > `h`) stored sideways: EXIF says to rotate it, and carries GPS.
pub fn rotated_jpeg_with_gps(w: u32, h: u32) -> Vec<u8> {
    let plain = jpeg(w, h, 42);
    let app1 = exif_rotated_with_gps();
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

/// A PNG header declaring `w`×`h` pixels with almost no data: a pixel flood.
pub fn pixel_flood_png(w: u32, h: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(data);
        out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    }
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A zip of `files` (path, bytes), plus optional traps.
pub fn zip(
    files: &[(&str, Vec<u8>)],
    symlink: Option<(&str, &str)>,
    bomb: Option<&str>,
) -> Vec<u8> {
    let mut w = zip_writer::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = zip_writer::write::SimpleFileOptions::default()
        .compression_method(zip_writer::CompressionMethod::Stored);
    for (name, bytes) in files {
        w.start_file(*name, stored).expect("entry");
        w.write_all(bytes).expect("write");
    }
    if let Some((name, target)) = symlink {
        w.add_symlink(name, target, stored).expect("symlink");
    }
    if let Some(name) = bomb {
        let deflated = zip_writer::write::SimpleFileOptions::default()
            .compression_method(zip_writer::CompressionMethod::Deflated);
        w.start_file(name, deflated).expect("bomb");
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..48 {
            w.write_all(&zeros).expect("write");
        }
    }
    w.finish().expect("finish").into_inner()
}
