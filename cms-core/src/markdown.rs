//! Markdown to sanitised HTML, the one renderer used by the public site, the admin preview and
//! the API, so an editor sees exactly what readers get.

use std::sync::OnceLock;

use pulldown_cmark::{Options, Parser, TagEnd, html};

fn sanitizer() -> &'static ammonia::Builder<'static> {
    static B: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    B.get_or_init(|| {
        let mut b = ammonia::Builder::default();
        b.link_rel(Some("noopener noreferrer nofollow"))
            .url_schemes(["http", "https", "mailto"].into_iter().collect())
            .add_tag_attributes("img", ["loading", "width", "height", "srcset", "sizes"])
            .add_tag_attributes("td", ["align"])
            .add_tag_attributes("th", ["align"]);
        b
    })
}

/// Renders Markdown (CommonMark with tables, strikethrough and footnotes) to HTML with every
/// script, event handler, style and unknown scheme removed.
pub fn render(markdown: &str) -> String {
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_TABLES);
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    opts.insert(Options::ENABLE_FOOTNOTES);
    let parser = Parser::new_ext(markdown, opts);
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut raw, parser);
    sanitizer().clean(&raw).to_string()
}

/// The plain text of some Markdown, whitespace collapsed (for the search index).
pub fn plain_text(markdown: &str) -> String {
    let mut text = String::with_capacity(markdown.len());
    let mut html = HtmlText::default();
    for event in Parser::new(markdown) {
        push_plain(event, &mut text, &mut html);
    }
    strip_markers(&text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Adds one Markdown event's words to plain text: text and code as they are, raw HTML's
/// words, a space at a line break or a block's end — not at the end of an inline span, so
/// "*One of Us*." stays "One of Us." rather than "One of Us .".
fn push_plain(event: pulldown_cmark::Event<'_>, text: &mut String, html: &mut HtmlText) {
    use pulldown_cmark::Event;
    match event {
        Event::Text(t) | Event::Code(t) => text.push_str(&t),
        Event::Html(t) | Event::InlineHtml(t) => html.push(&t, text),
        Event::End(
            TagEnd::Emphasis
            | TagEnd::Strong
            | TagEnd::Strikethrough
            | TagEnd::Link
            | TagEnd::Image,
        ) => {}
        Event::SoftBreak | Event::HardBreak | Event::End(_) => text.push(' '),
        _ => {}
    }
}

/// The words of raw HTML in a Markdown body (an imported WordPress post is HTML): tags are
/// dropped, with the contents of `<script>` and `<style>`, and entities decoded. HTML comes in
/// pieces (a line at a time), so the state carries over between them.
#[derive(Default)]
struct HtmlText {
    in_tag: bool,
    tag: String,
    skipping: bool,
}

impl HtmlText {
    fn push(&mut self, html: &str, out: &mut String) {
        let mut chunk = String::new();
        for c in html.chars() {
            if self.in_tag {
                if c == '>' {
                    self.in_tag = false;
                    let name = self
                        .tag
                        .trim_start_matches('/')
                        .split(|c: char| c.is_whitespace() || c == '/')
                        .next()
                        .unwrap_or("")
                        .to_ascii_lowercase();
                    if name == "script" || name == "style" {
                        self.skipping = !self.tag.starts_with('/');
                    }
                    chunk.push(' ');
                } else if self.tag.len() < 64 {
                    self.tag.push(c);
                }
            } else if c == '<' {
                self.in_tag = true;
                self.tag.clear();
            } else if !self.skipping {
                chunk.push(c);
            }
        }
        out.push_str(&decode_entities(&chunk));
    }
}

/// Escapes text for HTML or XML, in element content and in quoted attributes alike: a plain
/// text put where markup is read (an RSS description, an attribute, a sitemap) stays text.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Decodes HTML character references: numeric ones and the named ones editors and WordPress
/// write (`&amp;`, `&nbsp;`, `&rsquo;`, …). Anything else is left as it is.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let decoded = after.find(';').filter(|&e| e <= 10).and_then(|e| {
            let name = &after[..e];
            let c = if let Some(n) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                u32::from_str_radix(n, 16).ok().and_then(char::from_u32)
            } else if let Some(n) = name.strip_prefix('#') {
                n.parse::<u32>().ok().and_then(char::from_u32)
            } else {
                match name {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    "nbsp" => Some('\u{a0}'),
                    "ndash" => Some('–'),
                    "mdash" => Some('—'),
                    "hellip" => Some('…'),
                    "lsquo" => Some('‘'),
                    "rsquo" => Some('’'),
                    "ldquo" => Some('“'),
                    "rdquo" => Some('”'),
                    "copy" => Some('©'),
                    _ => None,
                }
            };
            c.filter(|c| *c != '\0').map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &after[e + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Removes `[[album:slug]]` and `[[video:slug]]` markers from plain text: they are placeholders
/// for embeds, not words a reader should see in an excerpt or a search snippet.
fn strip_markers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((start, end)) = next_marker(rest) {
        out.push_str(&rest[..start]);
        out.push(' ');
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Where the first embed marker in `text` starts and ends (after its `]]`).
fn next_marker(text: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(i) = text[from..].find("[[").map(|i| i + from) {
        let after = &text[i + 2..];
        let end = ["album:", "video:"]
            .iter()
            .any(|k| after.starts_with(k))
            .then(|| after.find("]]"))
            .flatten()
            .filter(|&end| parse_marker(&after[..end]).is_some());
        match end {
            Some(end) => return Some((i, i + 2 + end + 2)),
            None => from = i + 2,
        }
    }
    None
}

/// Plain text of some Markdown, whitespace collapsed, cut at a word boundary to at most
/// `max_chars` characters with an ellipsis: the automatic excerpt.
pub fn plain_excerpt(markdown: &str, max_chars: usize) -> String {
    let mut text = String::new();
    let mut html = HtmlText::default();
    for event in Parser::new(markdown) {
        push_plain(event, &mut text, &mut html);
        if text.len() > max_chars * 4 {
            break;
        }
    }
    // Words that lead up to an embed ("jump straight to an episode:") end the excerpt there:
    // what follows the album is another thought, and joining them reads as one sentence.
    // Embeds before any words are passed over.
    let mut rest = text.as_str();
    while let Some((_, end)) = next_marker(rest).filter(|(s, _)| rest[..*s].trim().is_empty()) {
        rest = &rest[end..];
    }
    let text = match next_marker(rest) {
        Some((start, _)) => {
            let lead = rest[..start].trim_end();
            match lead.strip_suffix(':') {
                Some(cut) => format!("{}…", cut.trim_end()),
                None => lead.to_string(),
            }
        }
        None => rest.to_string(),
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = String::new();
    for w in words {
        if out.chars().count() + w.chars().count() + 1 > max_chars {
            out.push('…');
            return out;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// An embed an editor put in a post body, alone on a line: `[[album:slug]]`, or
/// `[[album:slug from:ID]]` to show the photos added from photo ID on (an announcement's "just
/// added" row; ids only grow), and `[[video:slug]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmbedMarker {
    Album(String, Option<i64>),
    Video(String),
}

/// The marker inside `[[…]]`, if it is one.
fn parse_marker(inner: &str) -> Option<EmbedMarker> {
    let (kind, rest) = inner.split_once(':')?;
    let (slug, from) = match rest.split_once(' ') {
        Some((slug, opt)) => (slug, Some(opt.strip_prefix("from:")?.parse::<i64>().ok()?)),
        None => (rest, None),
    };
    let valid = !slug.is_empty()
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    match (kind, valid, from) {
        ("album", true, from) if from.is_none_or(|f| f > 0) => {
            Some(EmbedMarker::Album(slug.to_string(), from))
        }
        ("video", true, None) => Some(EmbedMarker::Video(slug.to_string())),
        _ => None,
    }
}

/// Splits rendered HTML at `<p>[[kind:slug]]</p>` markers: `Ok` is HTML between markers,
/// `Err` a marker. Markers with a malformed slug are left in the HTML as text.
pub fn split_embeds(html: &str) -> Vec<Result<&str, EmbedMarker>> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<p>[[") {
        let after = &rest[start + 5..];
        let Some(end) = after.find("]]</p>") else {
            break;
        };
        let marker = parse_marker(&after[..end]);
        match marker {
            Some(m) => {
                out.push(Ok(&rest[..start]));
                out.push(Err(m));
                rest = &after[end + 6..];
            }
            None => {
                out.push(Ok(&rest[..start + 5]));
                rest = after;
            }
        }
    }
    out.push(Ok(rest));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_handlers_are_removed() {
        let html = render(
            "Hi <script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1))",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
    }

    #[test]
    fn markdown_renders() {
        let html = render("# Title\n\n*Heartstopper* & **Kit**");
        assert!(html.contains("<h1>Title</h1>"));
        assert!(
            html.contains("<em>Heartstopper</em> &amp; <strong>Kit</strong>"),
            "{html}"
        );
    }

    #[test]
    fn excerpts_cut_at_words() {
        let e = plain_excerpt(
            "Kit Connor & Joe Locke break down **scenes** from season one.",
            30,
        );
        assert_eq!(e, "Kit Connor & Joe Locke break…");
    }

    #[test]
    fn inline_spans_leave_no_space_before_punctuation() {
        assert_eq!(
            plain_text(
                "Read *One of Us*. Then [the **interview**](https://x.example)!\n\n# Next\nline"
            ),
            "Read One of Us. Then the interview! Next line"
        );
        assert_eq!(
            plain_excerpt("A *bad*, **good** day.", 100),
            "A bad, good day."
        );
    }

    #[test]
    fn markers_are_not_words() {
        assert_eq!(
            plain_excerpt(
                "Jump to an episode:\n\n[[album:s02e01-out]]\n\n[[video:x-1]]\n\nEnjoy [[not a marker]].",
                100
            ),
            "Jump to an episode…"
        );
        assert_eq!(
            plain_excerpt(
                "[[album:s02e01-out]]\n\nEnjoy [[not a marker]].\n\n[[video:x-1]]\n\nMore.",
                100
            ),
            "Enjoy [[not a marker]]."
        );
        assert_eq!(plain_text("[[album:a]] b"), "b");
    }

    #[test]
    fn embed_markers_are_found_and_bad_ones_left_alone() {
        let parts = split_embeds(
            "<p>a</p><p>[[album:s02e01-out]]</p><p>[[album:Bad Slug]]</p><p>[[video:x]]</p>",
        );
        let markers: Vec<&EmbedMarker> = parts.iter().filter_map(|p| p.as_ref().err()).collect();
        assert_eq!(
            markers,
            [
                &EmbedMarker::Album("s02e01-out".into(), None),
                &EmbedMarker::Video("x".into())
            ]
        );
        let text: String = parts
            .iter()
            .filter_map(|p| p.as_ref().ok().copied())
            .collect();
        assert_eq!(text, "<p>a</p><p>[[album:Bad Slug]]</p>");
        // An album marker may say from which photo on its thumbnails are taken.
        let parts = split_embeds(
            "<p>[[album:s02e01-out from:42]]</p><p>[[album:x from:abc]]</p><p>[[album:x from:0]]</p><p>[[video:v from:3]]</p>",
        );
        let markers: Vec<&EmbedMarker> = parts.iter().filter_map(|p| p.as_ref().err()).collect();
        assert_eq!(
            markers,
            [&EmbedMarker::Album("s02e01-out".into(), Some(42))]
        );
        assert_eq!(plain_text("[[album:a from:7]] b"), "b");
    }
}
