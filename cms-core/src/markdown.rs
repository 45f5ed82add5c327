//! Markdown to sanitised HTML, the one renderer used by the public site, the admin preview and
//! the API, so an editor sees exactly what readers get.

use std::sync::OnceLock;

use pulldown_cmark::{Options, Parser, html};

fn sanitizer() -> &'static ammonia::Builder<'static> {
    static B: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    B.get_or_init(|| {
        let mut b = ammonia::Builder::default();
        b.link_rel(Some("noopener noreferrer nofollow"))
            .url_schemes(["http", "https", "mailto"].into_iter().collect())
            .add_tag_attributes("img", ["loading", "width", "height"])
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
    for event in Parser::new(markdown) {
        match event {
            pulldown_cmark::Event::Text(t) | pulldown_cmark::Event::Code(t) => text.push_str(&t),
            pulldown_cmark::Event::SoftBreak
            | pulldown_cmark::Event::HardBreak
            | pulldown_cmark::Event::End(_) => text.push(' '),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Plain text of some Markdown, whitespace collapsed, cut at a word boundary to at most
/// `max_chars` characters with an ellipsis: the automatic excerpt.
pub fn plain_excerpt(markdown: &str, max_chars: usize) -> String {
    let mut text = String::new();
    for event in Parser::new(markdown) {
        match event {
            pulldown_cmark::Event::Text(t) | pulldown_cmark::Event::Code(t) => text.push_str(&t),
            pulldown_cmark::Event::SoftBreak
            | pulldown_cmark::Event::HardBreak
            | pulldown_cmark::Event::End(_) => text.push(' '),
            _ => {}
        }
        if text.len() > max_chars * 4 {
            break;
        }
    }
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
}
