//! Multipart uploads: text fields into strings, files streamed to a staging folder with a size
//! limit and a SHA-256, never held whole in memory. The caller moves accepted files into the
//! media store; whatever is left in staging is removed when the upload is dropped.

use std::collections::HashMap;
use std::io::Write;

use actix_multipart::Multipart;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::error::AdminError;

/// A file received.
#[derive(Debug)]
pub struct StagedFile {
    pub file: tempfile::NamedTempFile,
    pub sha256: String,
    /// The first bytes, for sniffing the type.
    pub head: Vec<u8>,
    pub filename: String,
}

/// A parsed multipart form.
#[derive(Debug, Default)]
pub struct Upload {
    pub fields: HashMap<String, String>,
    /// The first file of each field.
    pub files: HashMap<String, StagedFile>,
    /// Further files of a field given several times, in order (multi-file uploads).
    pub repeated: Vec<(String, StagedFile)>,
    /// File parts that held nothing (a browser sends one for a file input left empty).
    pub empty_files: usize,
    /// Names of file parts in fields the caller does not take (drained, not kept).
    pub ignored_files: Vec<String>,
}

impl Upload {
    /// A text field, or empty.
    pub fn text(&self, name: &str) -> String {
        self.fields.get(name).cloned().unwrap_or_default()
    }
}

/// The largest text field accepted.
const TEXT_LIMIT: usize = 2 * 1024 * 1024;
/// The most files one request may carry.
pub const MAX_FILES: usize = 200;

/// Reads a multipart body; `limits` gives the largest size of each accepted file field.
pub async fn read(
    mut mp: Multipart,
    staging: &std::path::Path,
    limits: &[(&str, u64)],
) -> Result<Upload, AdminError> {
    std::fs::create_dir_all(staging).map_err(|e| AdminError::Internal(format!("staging: {e}")))?;
    let mut up = Upload::default();
    while let Some(field) = mp.next().await {
        let mut field = field
            .map_err(|e| AdminError::BadRequest(format!("The upload could not be read: {e}")))?;
        let name = field.name().unwrap_or_default().to_string();
        let filename = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_string);
        match (filename, limits.iter().find(|(n, _)| *n == name)) {
            (Some(filename), Some((_, limit))) => {
                let mut file = tempfile::NamedTempFile::new_in(staging)
                    .map_err(|e| AdminError::Internal(format!("staging: {e}")))?;
                let mut hasher = Sha256::new();
                let mut bytes: u64 = 0;
                let mut head = Vec::with_capacity(64);
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(|e| {
                        AdminError::BadRequest(format!("The upload was interrupted: {e}"))
                    })?;
                    bytes += chunk.len() as u64;
                    if bytes > *limit {
                        return Err(AdminError::TooLarge(format!(
                            "{} may be at most {}",
                            field_label(&name),
                            cms_core::units::bytes(*limit)
                        )));
                    }
                    if head.len() < 64 {
                        head.extend_from_slice(&chunk[..chunk.len().min(64 - head.len())]);
                    }
                    hasher.update(&chunk);
                    file.write_all(&chunk)
                        .map_err(|e| AdminError::Internal(format!("staging: {e}")))?;
                }
                if bytes == 0 {
                    up.empty_files += 1;
                } else {
                    let staged = StagedFile {
                        file,
                        sha256: hex::encode(hasher.finalize()),
                        head,
                        filename,
                    };
                    if up.files.len() + up.repeated.len() >= MAX_FILES {
                        return Err(AdminError::TooLarge(format!(
                            "send at most {MAX_FILES} files per request"
                        )));
                    }
                    match up.files.entry(name) {
                        std::collections::hash_map::Entry::Occupied(e) => {
                            up.repeated.push((e.key().clone(), staged));
                        }
                        std::collections::hash_map::Entry::Vacant(e) => {
                            e.insert(staged);
                        }
                    }
                }
            }
            (Some(_), None) => {
                // A file in a field we do not take: drain and ignore it.
                up.ignored_files.push(name.clone());
                while let Some(chunk) = field.next().await {
                    chunk.map_err(|e| {
                        AdminError::BadRequest(format!("The upload was interrupted: {e}"))
                    })?;
                }
            }
            (None, _) => {
                let mut buf = Vec::new();
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(|e| {
                        AdminError::BadRequest(format!("The upload was interrupted: {e}"))
                    })?;
                    if buf.len() + chunk.len() > TEXT_LIMIT {
                        return Err(AdminError::TooLarge(format!(
                            "{} may be at most {}",
                            field_label(&name),
                            cms_core::units::bytes(TEXT_LIMIT as u64)
                        )));
                    }
                    buf.extend_from_slice(&chunk);
                }
                let text = String::from_utf8(buf)
                    .map_err(|_| AdminError::BadRequest(format!("{name} is not UTF-8 text")))?;
                if cms_core::input::has_refused(&text) {
                    return Err(AdminError::BadRequest(format!(
                        "{name} holds a control character"
                    )));
                }
                up.fields.insert(name, text);
            }
        }
    }
    Ok(up)
}

/// An upload field's name as the forms label it, for messages.
fn field_label(name: &str) -> String {
    let words = name.trim_end_matches("_file").replace('_', " ");
    let mut c = words.chars();
    match c.next() {
        Some(first) => format!("The {}{}", first.to_lowercase(), c.as_str()),
        None => "The file".into(),
    }
}
