//! One image through the pipeline: type from the bytes, limits checked from the header before
//! anything is decoded, a content hash, EXIF orientation applied, derivatives resized with a
//! SIMD resizer and encoded as 4:2:0 JPEG, metadata stripped from the original, every file
//! written atomically under its content-addressed key.

use std::io::Cursor;

use fast_image_resize as fr;
use sha2::{Digest, Sha256};

use super::strip;
use crate::media::{MediaStore, photo_original_key, photo_variant_key, sniff};
use crate::models::photo::NewPhoto;

/// What an import accepts and makes.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Derivative widths, e.g. `[320, 640, 1280]` (never wider than the original).
    pub widths: Vec<u32>,
    /// JPEG quality of the derivatives.
    pub quality: u8,
    /// Largest file accepted, in bytes.
    pub max_bytes: u64,
    /// Largest image accepted, in pixels (width × height).
    pub max_pixels: u64,
    /// Longest side accepted, in pixels.
    pub max_side: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            widths: vec![320, 640, 1280],
            quality: 82,
            max_bytes: 64 << 20,
            max_pixels: 100_000_000,
            max_side: 30_000,
        }
    }
}

/// Why a file was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    NotAnImage,
    Unsupported(String),
    TooLarge {
        bytes: u64,
        limit: u64,
    },
    TooManyPixels {
        width: u32,
        height: u32,
    },
    Damaged(String),
    /// The file is fine but could not be written to the media store (down, full): the caller
    /// stops and tries again later rather than calling the file bad.
    Store(String),
}

impl Skip {
    /// A write to the media store that failed.
    fn store(e: crate::error::Error) -> Skip {
        Skip::Store(match e {
            crate::error::Error::MediaUnavailable(why) => why,
            other => other.to_string(),
        })
    }
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::NotAnImage => f.write_str("not an image"),
            Skip::Unsupported(t) => write!(f, "unsupported type ({t})"),
            Skip::TooLarge { bytes, limit } => write!(
                f,
                "too large ({} MB; the limit is {} MB)",
                bytes >> 20,
                limit >> 20
            ),
            Skip::TooManyPixels { width, height } => {
                write!(f, "too many pixels ({width}×{height})")
            }
            Skip::Damaged(why) => write!(f, "damaged or truncated ({why})"),
            Skip::Store(why) => write!(f, "could not be stored ({why})"),
        }
    }
}

/// The SHA-256 of a file's bytes, hex: the photo's identity.
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn image_format(mime: &str) -> Option<image::ImageFormat> {
    match mime {
        "image/jpeg" => Some(image::ImageFormat::Jpeg),
        "image/png" => Some(image::ImageFormat::Png),
        "image/webp" => Some(image::ImageFormat::WebP),
        "image/gif" => Some(image::ImageFormat::Gif),
        _ => None,
    }
}

/// The EXIF orientation (1–8) of a JPEG; 1 when absent or unreadable.
fn orientation(bytes: &[u8]) -> u32 {
    exif::Reader::new()
        .read_from_container(&mut Cursor::new(bytes))
        .ok()
        .and_then(|e| {
            e.get_field(exif::Tag::Orientation, exif::In::PRIMARY)
                .and_then(|f| f.value.get_uint(0))
        })
        .filter(|o| (1..=8).contains(o))
        .unwrap_or(1)
}

/// A JPEG that stops before its end-of-image marker is truncated (decoders fill the rest in
/// silently, so we look for ourselves).
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    tail.windows(2).any(|w| w == [0xFF, 0xD9])
}

/// Decodes to RGB, scaling in the DCT (JPEG) when the largest width needed is at most half the
/// original: decoding fewer coefficients is what makes small derivatives cheap.
fn decode(
    bytes: &[u8],
    mime: &str,
    width: u32,
    height: u32,
    needed_width: u32,
    rotated: bool,
) -> Result<image::RgbImage, Skip> {
    let format = image_format(mime).ok_or_else(|| Skip::Unsupported(mime.to_string()))?;
    if format == image::ImageFormat::Jpeg {
        // The dimension that becomes the width after orientation.
        let across = if rotated { height } else { width };
        if across >= needed_width.saturating_mul(2) {
            let mut d = jpeg_decoder::Decoder::new(Cursor::new(bytes));
            // Ask for at least the needed size in the original's orientation.
            let (rw, rh) = if rotated {
                (
                    (u64::from(needed_width) * u64::from(width) / u64::from(height.max(1))) as u32,
                    needed_width,
                )
            } else {
                (
                    needed_width,
                    (u64::from(needed_width) * u64::from(height) / u64::from(width.max(1))) as u32,
                )
            };
            let clamp = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
            if let Ok((sw, sh)) = d.scale(clamp(rw.min(width)), clamp(rh.min(height)))
                && let Ok(px) = d.decode()
                && let Some(info) = d.info()
                && info.pixel_format == jpeg_decoder::PixelFormat::RGB24
                && let Some(img) = image::RgbImage::from_raw(u32::from(sw), u32::from(sh), px)
            {
                return Ok(img);
            }
        }
    }
    let img = image::load_from_memory_with_format(bytes, format)
        .map_err(|e| Skip::Damaged(e.to_string()))?;
    Ok(match img {
        image::DynamicImage::ImageRgb8(rgb) => rgb,
        other if other.color().has_alpha() => {
            // Transparent areas become white, as on a page.
            let rgba = other.to_rgba8();
            image::RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
                let p = rgba.get_pixel(x, y).0;
                let a = u16::from(p[3]);
                let mix = |c: u8| ((u16::from(c) * a + 255 * (255 - a)) / 255) as u8;
                image::Rgb([mix(p[0]), mix(p[1]), mix(p[2])])
            })
        }
        other => other.to_rgb8(),
    })
}

fn orient(img: image::RgbImage, o: u32) -> image::RgbImage {
    use image::imageops;
    match o {
        2 => imageops::flip_horizontal(&img),
        3 => imageops::rotate180(&img),
        4 => imageops::flip_vertical(&img),
        5 => imageops::flip_horizontal(&imageops::rotate90(&img)),
        6 => imageops::rotate90(&img),
        7 => imageops::flip_horizontal(&imageops::rotate270(&img)),
        8 => imageops::rotate270(&img),
        _ => img,
    }
}

fn resize(src: &image::RgbImage, width: u32) -> Result<image::RgbImage, Skip> {
    let height = ((u64::from(src.height()) * u64::from(width) + u64::from(src.width()) / 2)
        / u64::from(src.width().max(1)))
    .max(1) as u32;
    let src_view =
        fr::images::ImageRef::new(src.width(), src.height(), src.as_raw(), fr::PixelType::U8x3)
            .map_err(|e| Skip::Damaged(e.to_string()))?;
    let mut dst = fr::images::Image::new(width, height, fr::PixelType::U8x3);
    let options =
        fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::CatmullRom));
    fr::Resizer::new()
        .resize(&src_view, &mut dst, &options)
        .map_err(|e| Skip::Damaged(e.to_string()))?;
    image::RgbImage::from_raw(width, height, dst.into_vec())
        .ok_or_else(|| Skip::Damaged("resize".into()))
}

fn encode(img: &image::RgbImage, quality: u8) -> Result<Vec<u8>, Skip> {
    let mut out = Vec::with_capacity((img.width() * img.height() / 4) as usize);
    let mut enc = jpeg_encoder::Encoder::new(&mut out, quality);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    let (w, h) = (u16::try_from(img.width()), u16::try_from(img.height()));
    let (Ok(w), Ok(h)) = (w, h) else {
        return Err(Skip::TooManyPixels {
            width: img.width(),
            height: img.height(),
        });
    };
    enc.encode(img.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| Skip::Damaged(e.to_string()))?;
    Ok(out)
}

/// The checks that need only the first bytes and the header: type, size, pixel count. Nothing
/// is decoded here, so a small file declaring a gigapixel image costs nothing.
pub fn inspect(bytes: &[u8], settings: &Settings) -> Result<(&'static str, u32, u32), Skip> {
    if bytes.len() as u64 > settings.max_bytes {
        return Err(Skip::TooLarge {
            bytes: bytes.len() as u64,
            limit: settings.max_bytes,
        });
    }
    let mime = match sniff(bytes) {
        Some(m) if m.starts_with("image/") => m,
        Some(other) => return Err(Skip::Unsupported(other.to_string())),
        None => return Err(Skip::NotAnImage),
    };
    let format = image_format(mime).ok_or_else(|| Skip::Unsupported(mime.to_string()))?;
    let (w, h) = image::ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|e| Skip::Damaged(e.to_string()))?;
    if w == 0 || h == 0 {
        return Err(Skip::Damaged("no pixels".into()));
    }
    if u64::from(w) * u64::from(h) > settings.max_pixels
        || w > settings.max_side
        || h > settings.max_side
    {
        return Err(Skip::TooManyPixels {
            width: w,
            height: h,
        });
    }
    if mime == "image/jpeg" && !jpeg_is_complete(bytes) {
        return Err(Skip::Damaged("the file ends before the image does".into()));
    }
    Ok((mime, w, h))
}

/// Runs one file through the pipeline and writes its files; returns the row to insert.
pub fn process(
    bytes: &[u8],
    filename: &str,
    settings: &Settings,
    media: &dyn MediaStore,
) -> Result<NewPhoto, Skip> {
    process_hashed(bytes, &content_hash(bytes), filename, settings, media)
}

/// [`process`] for bytes whose [`content_hash`] is known already.
pub fn process_hashed(
    bytes: &[u8],
    hash: &str,
    filename: &str,
    settings: &Settings,
    media: &dyn MediaStore,
) -> Result<NewPhoto, Skip> {
    let (mime, w, h) = inspect(bytes, settings)?;
    let hash = hash.to_string();
    let o = if mime == "image/jpeg" {
        orientation(bytes)
    } else {
        1
    };
    let rotated = o >= 5;
    let (ow, oh) = if rotated { (h, w) } else { (w, h) };
    let mut widths: Vec<u32> = settings.widths.iter().map(|&x| x.min(ow)).collect();
    widths.sort_unstable();
    widths.dedup();
    let original_key = photo_original_key(&hash, mime);
    let row = |variants: Vec<u32>| NewPhoto {
        original_filename: filename.to_string(),
        caption: String::new(),
        credit: String::new(),
        source: String::new(),
        content_hash: hash.clone(),
        mime: mime.to_string(),
        width: i32::try_from(ow).unwrap_or(i32::MAX),
        height: i32::try_from(oh).unwrap_or(i32::MAX),
        bytes: bytes.len() as i64,
        variants,
        ..Default::default()
    };
    // Files are content-addressed: when every one this would write is stored already (the
    // same image in another album, an import run again), there is nothing to decode.
    if media.exists(&original_key)
        && widths
            .iter()
            .all(|w| media.exists(&photo_variant_key(&hash, *w)))
    {
        return Ok(row(widths));
    }
    let largest = widths.last().copied().unwrap_or(ow);
    let decoded = orient(decode(bytes, mime, w, h, largest, rotated)?, o);
    let mut current = decoded;
    let mut made = Vec::with_capacity(widths.len());
    for &width in widths.iter().rev() {
        if current.width() != width {
            current = resize(&current, width)?;
        }
        let jpeg = encode(&current, settings.quality)?;
        let key = photo_variant_key(&hash, width);
        if !media.exists(&key) {
            media.put(&key, &jpeg).map_err(Skip::store)?;
        }
        made.push(width);
    }
    if !media.exists(&original_key) {
        // Fail closed: an original whose metadata cannot be removed is not published.
        let stripped = strip::strip(bytes, mime, o)
            .map_err(|why| Skip::Damaged(format!("its metadata could not be removed: {why}")))?;
        media.put(&original_key, &stripped).map_err(Skip::store)?;
    }
    made.sort_unstable();
    Ok(row(made))
}
