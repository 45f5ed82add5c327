//! Transcripts: WebVTT parsing (cues shown time-coded and used as captions) and SubRip (.srt)
//! conversion to WebVTT.

use crate::error::{Error, Result};

/// One timed cue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Cue {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
}

impl Cue {
    /// The start as `m:ss` or `h:mm:ss`, for display.
    pub fn start_label(&self) -> String {
        let s = self.start_ms / 1000;
        let (h, m, s) = (s / 3600, (s / 60) % 60, s % 60);
        if h > 0 {
            format!("{h}:{m:02}:{s:02}")
        } else {
            format!("{m}:{s:02}")
        }
    }
}

/// Parses `hh:mm:ss.mmm` or `mm:ss.mmm` (a comma also accepted, as in SubRip).
fn parse_timestamp(s: &str) -> Option<u64> {
    let s = s.trim().replace(',', ".");
    let (hms, ms) = s.split_once('.')?;
    if ms.len() != 3 || !ms.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ms: u64 = ms.parse().ok()?;
    let parts: Vec<&str> = hms.split(':').collect();
    let nums: Option<Vec<u64>> = parts.iter().map(|p| p.parse().ok()).collect();
    let nums = nums?;
    let secs = match nums.as_slice() {
        [h, m, s] if *m < 60 && *s < 60 => h * 3600 + m * 60 + s,
        [m, s] if *s < 60 => m * 60 + s,
        _ => return None,
    };
    Some(secs * 1000 + ms)
}

fn parse_timing_line(line: &str) -> Option<(u64, u64)> {
    let (a, rest) = line.split_once("-->")?;
    let b = rest.split_whitespace().next()?;
    let (start, end) = (parse_timestamp(a)?, parse_timestamp(b)?);
    (end >= start).then_some((start, end))
}

/// Parses a WebVTT file into cues. The `WEBVTT` header is required; NOTE, STYLE and REGION
/// blocks are skipped; cue settings are ignored.
pub fn parse_vtt(text: &str) -> Result<Vec<Cue>> {
    let text = text
        .trim_start_matches('\u{feff}')
        .replace("\r\n", "\n")
        .replace('\r', "\n");
    let mut blocks = text.split("\n\n").map(|b| b.trim_matches('\n'));
    let header = blocks.next().unwrap_or_default();
    if !header.starts_with("WEBVTT") {
        return Err(Error::invalid(
            "transcript",
            "a WebVTT file starts with the line WEBVTT",
        ));
    }
    let mut cues = Vec::new();
    for block in blocks.filter(|b| !b.trim().is_empty()) {
        if block.starts_with("NOTE") || block.starts_with("STYLE") || block.starts_with("REGION") {
            continue;
        }
        let mut lines = block.lines();
        let mut first = lines.next().unwrap_or_default();
        if !first.contains("-->") {
            first = lines.next().unwrap_or_default();
        }
        let (start_ms, end_ms) = parse_timing_line(first).ok_or_else(|| {
            Error::invalid(
                "transcript",
                format!("bad cue timing line: '{}'", first.trim()),
            )
        })?;
        let text = lines.collect::<Vec<_>>().join("\n");
        cues.push(Cue {
            start_ms,
            end_ms,
            text,
        });
    }
    Ok(cues)
}

fn vtt_timestamp(ms: u64) -> String {
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        (ms / 60_000) % 60,
        (ms / 1000) % 60,
        ms % 1000
    )
}

/// Renders cues as a WebVTT file.
pub fn to_vtt(cues: &[Cue]) -> String {
    let mut out = String::from("WEBVTT\n");
    for c in cues {
        out.push('\n');
        out.push_str(&format!(
            "{} --> {}\n{}\n",
            vtt_timestamp(c.start_ms),
            vtt_timestamp(c.end_ms),
            c.text
        ));
    }
    out
}

/// Converts a SubRip (.srt) file to WebVTT.
pub fn srt_to_vtt(text: &str) -> Result<String> {
    let text = text
        .trim_start_matches('\u{feff}')
        .replace("\r\n", "\n")
        .replace('\r', "\n");
    let mut cues = Vec::new();
    for block in text.split("\n\n").map(str::trim).filter(|b| !b.is_empty()) {
        let mut lines = block.lines();
        let mut first = lines.next().unwrap_or_default();
        if !first.contains("-->") {
            first = lines.next().unwrap_or_default();
        }
        let (start_ms, end_ms) = parse_timing_line(first).ok_or_else(|| {
            Error::invalid(
                "transcript",
                format!("bad SubRip timing line: '{}'", first.trim()),
            )
        })?;
        cues.push(Cue {
            start_ms,
            end_ms,
            text: lines.collect::<Vec<_>>().join("\n"),
        });
    }
    if cues.is_empty() {
        return Err(Error::invalid("transcript", "the SubRip file has no cues"));
    }
    Ok(to_vtt(&cues))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vtt() {
        let cues = parse_vtt("WEBVTT\n\nNOTE hi\n\n1\n00:00:01.000 --> 00:00:04.500 align:start\nHello & welcome\n\n00:01.000 --> 00:02.000\nSecond\nline\n").expect("valid");
        assert_eq!(cues.len(), 2);
        assert_eq!(cues[0].start_ms, 1000);
        assert_eq!(cues[0].end_ms, 4500);
        assert_eq!(cues[1].text, "Second\nline");
        assert_eq!(cues[0].start_label(), "0:01");
    }

    #[test]
    fn refuses_bad_vtt() {
        assert!(parse_vtt("no header").is_err());
        assert!(parse_vtt("WEBVTT\n\n00:00:99.000 --> x\nbad").is_err());
    }

    #[test]
    fn converts_srt() {
        let vtt = srt_to_vtt("1\r\n00:00:01,000 --> 00:00:02,500\r\nHi\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\nThere\r\n").expect("valid");
        assert!(vtt.starts_with("WEBVTT\n"));
        let cues = parse_vtt(&vtt).expect("round trip");
        assert_eq!(cues[0].end_ms, 2500);
        assert_eq!(cues[1].text, "There");
    }
}
