//! WordPress post bodies (`content:encoded` in a WXR export) to the HTML WordPress would show:
//! block-editor comments dropped, the shortcodes WordPress ships (captions, galleries, videos)
//! expanded or handed to the importer through [`Hooks`], `wpautop` paragraphs for classic posts,
//! and a layout a CommonMark renderer passes through untouched, one raw-HTML block at a time.

use std::collections::{HashMap, HashSet};

/// What the converter asks its caller while converting one post.
pub trait Hooks {
    /// `[gallery ids="1,2,3" ...]`: the attachment ids in order. Return a replacement block (e.g.
    /// "[[album:some-slug]]") or None to drop the shortcode silently.
    fn gallery(&mut self, attachment_ids: &[i64]) -> Option<String>;
    /// A video: `[embed]URL[/embed]`, `[video src="URL"]` / `[video mp4="URL"]` (any of src, mp4,
    /// webm, ogv, m4v attributes), `[youtube URL]` / `[youtube id=...]`, or a bare YouTube/Vimeo
    /// URL alone on its own line (youtube.com/watch?v=, youtu.be/, youtube.com/shorts/,
    /// vimeo.com/NNN). Return a replacement block (e.g. "[[video:slug]]") or None to keep a plain
    /// link `<p><a href="URL">URL</a></p>` instead.
    fn video(&mut self, url: &str) -> Option<String>;
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Converted {
    pub html: String,
    /// Names of shortcodes that were not understood and were kept as text (each name once, in
    /// order of first appearance).
    pub unknown_shortcodes: Vec<String>,
}

/// Converts one post body: HTML comments dropped (block-editor gallery, embed and video blocks
/// become hook calls too), shortcodes expanded, bare video links handed to [`Hooks::video`],
/// `wpautop` for classic (non-block) content, then laid out as CommonMark-safe blocks. Hooks are
/// called in document order; an empty replacement counts as "drop". A block-editor gallery the
/// hook declines keeps its own HTML, a declined `[gallery]` shortcode disappears.
pub fn convert(content: &str, hooks: &mut dyn Hooks) -> Converted {
    let text = clean_input(content);
    let mut cx = Context::default();
    let (text, has_blocks) = strip_block_comments(&text, &mut cx);
    let text = expand(&text, &mut cx);
    // WordPress's do_blocks() unhooks wpautop for block content: blocks are HTML already.
    let html = if has_blocks { text } else { autop(&text) };
    let resolved = resolve(&html, &cx.pending, hooks);
    Converted {
        html: layout(&html, &resolved),
        unknown_shortcodes: cx.unknown,
    }
}

/// WordPress's `wpautop`: paragraphs from blank lines, <br /> from single newlines, never
/// wrapping block-level elements.
pub fn autop(text: &str) -> String {
    let mut clean = String::with_capacity(text.len() + 1);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                clean.push('\n');
            }
            NL_IN_TAG | NL_KEEP | PRE_MARK => {}
            _ => clean.push(c),
        }
    }
    if clean
        .trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r' | '\0' | '\x0b'))
        .is_empty()
    {
        return String::new();
    }
    clean.push('\n');
    let (t, pres) = stash_pre(&clean);
    let t = collapse_double_br(&t);
    let t = space_blocks(&t);
    let t = protect_tag_newlines(&t);
    let t = collapse_media_whitespace(&t);
    let t = squeeze_newlines(&t);
    let t = make_paragraphs(&t);
    let t = drop_empty_paragraphs(&t);
    let t = close_open_paragraph(&t);
    let t = unwrap_lone_block_tag(&t);
    let t = unwrap_list_items(&t);
    let t = fix_blockquote(&t);
    let t = strip_p_before_block(&t);
    let t = strip_after_block(&t, "</p>");
    let t = insert_line_breaks(&t);
    let t = strip_after_block(&t, "<br />");
    let t = strip_br_before_block(&t);
    let t = trim_final_break(t);
    let t = restore_pre(&t, &pres);
    t.replace(NL_IN_TAG, "\n")
}

// ---------------------------------------------------------------------------------------------
// Private markers. Noncharacters never appear in real text; they are stripped from the input.

/// A newline inside an HTML tag while wpautop runs.
const NL_IN_TAG: char = '\u{FDD0}';
/// A newline inside <script>/<style>/<svg>/<math> while wpautop inserts <br />.
const NL_KEEP: char = '\u{FDD1}';
/// Opens a hook placeholder: `PH_OPEN index PH_CLOSE`.
const PH_OPEN: char = '\u{FDD2}';
const PH_CLOSE: char = '\u{FDD3}';
/// Marks a stashed <pre> while wpautop runs.
const PRE_MARK: char = '\u{FDD4}';

/// WordPress's wpautop block list (`$allblocks`).
const WP_BLOCKS: &[&str] = &[
    "table",
    "thead",
    "tfoot",
    "caption",
    "col",
    "colgroup",
    "tbody",
    "tr",
    "td",
    "th",
    "div",
    "dl",
    "dd",
    "dt",
    "ul",
    "ol",
    "li",
    "pre",
    "form",
    "map",
    "area",
    "blockquote",
    "address",
    "math",
    "style",
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "fieldset",
    "legend",
    "section",
    "article",
    "aside",
    "hgroup",
    "header",
    "footer",
    "nav",
    "figure",
    "figcaption",
    "details",
    "menu",
    "summary",
];
/// More elements the layout treats as top-level blocks (CommonMark knows them).
const EXTRA_BLOCKS: &[&str] = &["main", "search", "dialog", "center", "dir"];
/// Block elements CommonMark does not start an HTML block with: wrapped in a <div>.
const NEEDS_DIV: &[&str] = &["map", "area", "math", "hgroup"];
const VOID_BLOCKS: &[&str] = &["hr", "col", "area"];
/// Start tags that close an open <p> (HTML's "close a p element").
const P_CLOSERS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "dd",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "li",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "pre",
    "search",
    "section",
    "summary",
    "table",
    "ul",
];
/// Elements whose content is text up to their end tag.
const RAW_TEXT: &[&str] = &[
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes",
];
/// Elements whose content is never searched for shortcodes or video links.
const PROTECTED: &[&str] = &["pre", "code", "script", "style", "textarea"];

// ---------------------------------------------------------------------------------------------
// Small byte helpers. Every index used to slice a `str` sits on an ASCII byte or an end.

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn is_ws_char(c: char) -> bool {
    c.is_ascii() && is_ws(c as u8)
}

fn ws_only(s: &str) -> bool {
    s.bytes().all(is_ws)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_ws(b[i]) {
        i += 1;
    }
    i
}

fn alnum_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_alphanumeric() {
        i += 1;
    }
    i
}

fn starts(b: &[u8], i: usize, pat: &[u8]) -> bool {
    b.get(i..).is_some_and(|s| s.starts_with(pat))
}

fn starts_ci(b: &[u8], i: usize, pat: &[u8]) -> bool {
    b.get(i..i.saturating_add(pat.len()))
        .is_some_and(|s| s.eq_ignore_ascii_case(pat))
}

fn in_list(name: &[u8], list: &[&str]) -> bool {
    list.iter().any(|x| x.as_bytes().eq_ignore_ascii_case(name))
}

fn is_wp_block(name: &[u8]) -> bool {
    in_list(name, WP_BLOCKS)
}

fn find_at(h: &[u8], n: &[u8], from: usize) -> Option<usize> {
    let first = *n.first()?;
    let mut i = from;
    while i < h.len() {
        let k = h[i..].iter().position(|&b| b == first)?;
        i += k;
        if h.len() - i >= n.len() && h[i..i + n.len()] == *n {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Finds the next occurrence of a needle (or of any of its bytes) at or after a position,
/// remembering the last answer so a forward scan never searches the same stretch twice.
struct Finder {
    needle: Vec<u8>,
    any: bool,
    from: usize,
    hit: Option<Option<usize>>,
}

impl Finder {
    fn new(needle: &[u8]) -> Self {
        Finder {
            needle: needle.to_vec(),
            any: false,
            from: 0,
            hit: None,
        }
    }

    fn any_of(bytes: &[u8]) -> Self {
        Finder {
            any: true,
            ..Finder::new(bytes)
        }
    }

    fn find(&mut self, h: &[u8], from: usize) -> Option<usize> {
        if let Some(hit) = self.hit
            && self.from <= from
        {
            match hit {
                None => return None,
                Some(p) if p >= from => return Some(p),
                Some(_) => {}
            }
        }
        let r = if self.any {
            h.get(from..)
                .and_then(|s| s.iter().position(|b| self.needle.contains(b)))
                .map(|k| from + k)
        } else {
            find_at(h, &self.needle, from)
        };
        self.from = from;
        self.hit = Some(r);
        r
    }
}

/// Copies `t`, calling `f` at every byte in `stops`; `f` writes its own output and returns the
/// index to continue from, or None to copy that byte as it is.
fn scan(t: &str, stops: &[u8], mut f: impl FnMut(usize, &mut String) -> Option<usize>) -> String {
    let b = t.as_bytes();
    let mut out = String::with_capacity(t.len() + t.len() / 16 + 16);
    let mut i = 0;
    while i < b.len() {
        let n = b[i..]
            .iter()
            .position(|x| stops.contains(x))
            .map_or(b.len(), |k| i + k);
        out.push_str(&t[i..n]);
        if n >= b.len() {
            break;
        }
        match f(n, &mut out) {
            Some(next) if next > n && next <= b.len() && t.is_char_boundary(next) => i = next,
            _ => {
                out.push_str(&t[n..n + 1]);
                i = n + 1;
            }
        }
    }
    out
}

fn esc(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

/// The entities WordPress leaves in URLs it has escaped.
fn decode_url(s: &str) -> String {
    s.trim()
        .replace("&#038;", "&")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

fn link_block(url: &str) -> String {
    let u = esc(url);
    format!("<p><a href=\"{u}\">{u}</a></p>")
}

// ---------------------------------------------------------------------------------------------
// Input clean-up and the conversion context.

fn clean_input(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            '\u{FDD0}'..='\u{FDEF}' => {}
            _ => out.push(c),
        }
    }
    // Keepsake reads `[[album:…]]` / `[[video:…]]` as embeds: text that merely looks like one
    // gets a word joiner so it stays text.
    if out.contains("[[album:") || out.contains("[[video:") {
        out = out
            .replace("[[album:", "[\u{2060}[album:")
            .replace("[[video:", "[\u{2060}[video:");
    }
    out
}

/// Something a hook decides, left in the text as a placeholder until the HTML is final so the
/// hooks are called in document order.
enum Pending {
    Gallery {
        ids: Vec<i64>,
        /// What to show when the hook declines (a block gallery's own HTML).
        fallback: Option<String>,
    },
    Video(String),
    /// A ready block (a link for a non-video embed).
    Html(String),
}

#[derive(Default)]
struct Context {
    pending: Vec<Pending>,
    unknown: Vec<String>,
    seen: HashSet<String>,
}

impl Context {
    fn placeholder(&mut self, p: Pending) -> String {
        let idx = self.pending.len();
        self.pending.push(p);
        format!("\n\n{PH_OPEN}{idx}{PH_CLOSE}\n\n")
    }

    fn unknown(&mut self, name: &str) {
        if self.seen.insert(name.to_string()) {
            self.unknown.push(name.to_string());
        }
    }
}

fn placeholder_at(s: &str, i: usize) -> Option<(usize, usize)> {
    let rest = s.get(i..)?.strip_prefix(PH_OPEN)?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let idx = rest[..digits].parse().ok()?;
    rest[digits..].strip_prefix(PH_CLOSE)?;
    Some((i + PH_OPEN.len_utf8() + digits + PH_CLOSE.len_utf8(), idx))
}

fn resolve(html: &str, pending: &[Pending], hooks: &mut dyn Hooks) -> Vec<Option<String>> {
    let mut out: Vec<Option<String>> = vec![None; pending.len()];
    let mut done = vec![false; pending.len()];
    let mut i = 0;
    while let Some(k) = html.get(i..).and_then(|s| s.find(PH_OPEN)) {
        let p = i + k;
        let Some((end, idx)) = placeholder_at(html, p) else {
            i = p + PH_OPEN.len_utf8();
            continue;
        };
        i = end;
        if idx >= pending.len() || done[idx] {
            continue;
        }
        done[idx] = true;
        let nonempty =
            |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        out[idx] = match &pending[idx] {
            Pending::Gallery { ids, fallback } => nonempty(hooks.gallery(ids))
                .or_else(|| nonempty(fallback.as_deref().map(|f| layout(f, &[])))),
            Pending::Video(url) => match hooks.video(url) {
                Some(s) => nonempty(Some(s)),
                None => Some(link_block(url)),
            },
            Pending::Html(h) => Some(h.clone()),
        };
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Step 1: block-editor comments.

enum CommentKind {
    Other,
    Unclosed,
    Open {
        name: String,
        attrs: String,
        void: bool,
    },
    Close(String),
}

struct Comment {
    start: usize,
    end: usize,
    kind: CommentKind,
}

fn classify_comment(body: &str) -> CommentKind {
    let t = body.trim();
    let (closer, rest) = match t.strip_prefix("/wp:") {
        Some(r) => (true, r),
        None => match t.strip_prefix("wp:") {
            Some(r) => (false, r),
            None => return CommentKind::Other,
        },
    };
    let name_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'/'))
        .count();
    let mut name = rest[..name_len].to_ascii_lowercase();
    while name.ends_with('/') {
        name.pop();
    }
    if name.is_empty() {
        return CommentKind::Other;
    }
    if let Some(n) = name.strip_prefix("core/") {
        name = n.to_string();
    }
    if closer {
        return CommentKind::Close(name);
    }
    let after = &rest[name_len..];
    let attrs = match (after.find('{'), after.rfind('}')) {
        (Some(a), Some(z)) if a < z => after[a..=z].to_string(),
        _ => String::new(),
    };
    CommentKind::Open {
        name,
        attrs,
        void: t.ends_with('/'),
    }
}

fn comments(text: &str) -> Vec<Comment> {
    let b = text.as_bytes();
    let mut end = Finder::new(b"-->");
    let mut toks = Vec::new();
    let mut i = 0;
    while let Some(s) = find_at(b, b"<!--", i) {
        match end.find(b, s + 4) {
            Some(e) => {
                toks.push(Comment {
                    start: s,
                    end: e + 3,
                    kind: classify_comment(&text[s + 4..e]),
                });
                i = e + 3;
            }
            None => {
                toks.push(Comment {
                    start: s,
                    end: s + 4,
                    kind: CommentKind::Unclosed,
                });
                i = s + 4;
            }
        }
    }
    toks
}

/// Removes every HTML comment; block delimiters around galleries, embeds and videos turn their
/// block into a placeholder. Returns the text and whether it had block markup.
fn strip_block_comments(text: &str, cx: &mut Context) -> (String, bool) {
    let toks = comments(text);
    if toks.is_empty() {
        return (text.to_string(), false);
    }
    let mut closes: HashMap<&str, Vec<usize>> = HashMap::new();
    for (k, t) in toks.iter().enumerate() {
        if let CommentKind::Close(n) = &t.kind {
            closes.entry(n.as_str()).or_default().push(k);
        }
    }
    let mut out = String::with_capacity(text.len());
    let (mut pos, mut k, mut blocks) = (0, 0, false);
    while k < toks.len() {
        let tok = &toks[k];
        out.push_str(&text[pos..tok.start]);
        pos = tok.end;
        match &tok.kind {
            CommentKind::Other => {}
            CommentKind::Unclosed => out.push_str("&lt;!--"),
            CommentKind::Close(_) => blocks = true,
            CommentKind::Open { name, attrs, void } => {
                blocks = true;
                let ci = closes.get(name.as_str()).and_then(|v| {
                    let at = v.partition_point(|&c| c <= k);
                    v.get(at).copied()
                });
                if !void && let Some(ci) = ci {
                    let inner = &text[tok.end..toks[ci].start];
                    let nested = &toks[k + 1..ci];
                    if let Some(rep) = special_block(name, attrs, inner, tok.end, nested, cx) {
                        out.push_str(&rep);
                        pos = toks[ci].end;
                        k = ci + 1;
                        continue;
                    }
                }
            }
        }
        k += 1;
    }
    out.push_str(&text[pos..]);
    (out, blocks)
}

/// A gallery, embed or video block as a placeholder, or None to keep its HTML.
fn special_block(
    name: &str,
    attrs: &str,
    inner: &str,
    inner_start: usize,
    nested: &[Comment],
    cx: &mut Context,
) -> Option<String> {
    match name {
        "gallery" | "jetpack/tiled-gallery" | "jetpack/slideshow" => {
            let mut ids = json_ids(attrs, "ids");
            if ids.is_empty() {
                ids = nested
                    .iter()
                    .filter_map(|c| match &c.kind {
                        CommentKind::Open { name, attrs, .. } if name == "image" => {
                            json_int(attrs, "id")
                        }
                        _ => None,
                    })
                    .collect();
            }
            if ids.is_empty() {
                ids = html_ids(inner);
            }
            // The block's own HTML without its nested block comments.
            let mut fallback = String::with_capacity(inner.len());
            let mut pos = 0;
            for c in nested {
                let (s, e) = (c.start - inner_start, c.end - inner_start);
                fallback.push_str(inner.get(pos..s).unwrap_or(""));
                pos = e;
            }
            fallback.push_str(inner.get(pos..).unwrap_or(""));
            Some(cx.placeholder(Pending::Gallery {
                ids,
                fallback: Some(fallback),
            }))
        }
        "video" => {
            let url = media_src(inner)?;
            let mut rep = cx.placeholder(Pending::Video(url));
            rep.push_str(&caption_paragraph(inner));
            Some(rep)
        }
        _ if name == "embed" || name.starts_with("core-embed/") => {
            let url = json_str(attrs, "url")
                .map(|u| decode_url(&u))
                .filter(|u| is_http(u))
                .or_else(|| {
                    inner
                        .lines()
                        .map(|l| decode_url(l.trim()))
                        .find(|l| is_http(l))
                })?;
            let p = if is_video_url(&url) {
                Pending::Video(url)
            } else {
                Pending::Html(link_block(&url))
            };
            let mut rep = cx.placeholder(p);
            rep.push_str(&caption_paragraph(inner));
            Some(rep)
        }
        _ => None,
    }
}

fn caption_paragraph(inner: &str) -> String {
    let lower = inner.to_ascii_lowercase();
    let Some(s) = lower.find("<figcaption") else {
        return String::new();
    };
    let Some(gt) = lower[s..].find('>').map(|g| s + g + 1) else {
        return String::new();
    };
    let Some(e) = lower[gt..].find("</figcaption>").map(|e| gt + e) else {
        return String::new();
    };
    let cap = inner[gt..e].trim();
    if cap.is_empty() {
        String::new()
    } else {
        format!("<p>{cap}</p>\n\n")
    }
}

/// The `src` of a <video> (or of its first <source>) in some HTML.
fn media_src(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    for tag in ["<video", "<source"] {
        let mut from = 0;
        while let Some(s) = lower
            .get(from..)
            .and_then(|l| l.find(tag))
            .map(|k| from + k)
        {
            let e = lower[s..].find('>').map_or(html.len(), |k| s + k);
            if let Some(src) = html_attr(&html[s..e], "src").map(|u| decode_url(&u))
                && is_http(&src)
            {
                return Some(src);
            }
            from = e;
        }
    }
    None
}

/// Attachment ids named in a gallery's HTML: `data-id="N"`, else `wp-image-N` classes.
fn html_ids(html: &str) -> Vec<i64> {
    for pat in ["data-id=\"", "wp-image-"] {
        let ids: Vec<i64> = html
            .match_indices(pat)
            .filter_map(|(i, m)| leading_int(&html[i + m.len()..]))
            .collect();
        if !ids.is_empty() {
            return ids;
        }
    }
    Vec::new()
}

fn leading_int(s: &str) -> Option<i64> {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    s[..n].parse().ok()
}

/// The text after `"key":` in a JSON object (no full parser: block attributes are flat).
fn json_value<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("\"{key}\"");
    let b = json.as_bytes();
    let mut from = 0;
    while let Some(p) = find_at(b, pat.as_bytes(), from) {
        let j = skip_ws(b, p + pat.len());
        if b.get(j) == Some(&b':') {
            let v = skip_ws(b, j + 1);
            return json.get(v..);
        }
        from = p + 1;
    }
    None
}

fn json_int(json: &str, key: &str) -> Option<i64> {
    leading_int(json_value(json, key)?)
}

fn json_ids(json: &str, key: &str) -> Vec<i64> {
    let Some(v) = json_value(json, key).and_then(|v| v.strip_prefix('[')) else {
        return Vec::new();
    };
    let list = &v[..v.find(']').unwrap_or(v.len())];
    list.split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn json_str(json: &str, key: &str) -> Option<String> {
    let v = json_value(json, key)?.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'b' | 'f' => {}
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let mut code = u32::from_str_radix(&hex, 16).ok()?;
                    if (0xD800..0xDC00).contains(&code) {
                        let rest = chars.as_str();
                        if let Some(lo) = rest
                            .strip_prefix("\\u")
                            .and_then(|r| r.get(..4))
                            .and_then(|h| u32::from_str_radix(h, 16).ok())
                            .filter(|lo| (0xDC00..0xE000).contains(lo))
                        {
                            code = 0x10000 + ((code - 0xD800) << 10) + (lo - 0xDC00);
                            chars = rest[6..].chars();
                        }
                    }
                    out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                }
                other => out.push(other),
            },
            _ => out.push(c),
        }
    }
    None
}

/// The value of an attribute in one HTML start tag.
fn html_attr(tag: &str, attr: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let (lb, b) = (lower.as_bytes(), tag.as_bytes());
    let mut from = 0;
    while let Some(p) = find_at(lb, attr.as_bytes(), from) {
        from = p + 1;
        if p == 0 || !is_ws(lb[p - 1]) {
            continue;
        }
        let mut j = skip_ws(lb, p + attr.len());
        if lb.get(j) != Some(&b'=') {
            continue;
        }
        j = skip_ws(lb, j + 1);
        return match b.get(j) {
            Some(&q @ (b'"' | b'\'')) => {
                let e = b[j + 1..]
                    .iter()
                    .position(|&x| x == q)
                    .map_or(b.len(), |k| j + 1 + k);
                Some(tag[j + 1..e].to_string())
            }
            Some(_) => {
                let e = b[j..]
                    .iter()
                    .position(|&x| is_ws(x) || x == b'>')
                    .map_or(b.len(), |k| j + k);
                Some(tag[j..e].to_string())
            }
            None => None,
        };
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Video URLs.

fn is_http(url: &str) -> bool {
    let b = url.as_bytes();
    (starts_ci(b, 0, b"http://") || starts_ci(b, 0, b"https://"))
        && url.len() > 8
        && !b
            .iter()
            .any(|&c| is_ws(c) || matches!(c, b'<' | b'>' | b'"' | b'\''))
}

/// The lower-cased host (without `www.`/`m.`) and the rest (path, query, fragment) of a URL.
fn split_url(url: &str) -> Option<(String, &str)> {
    let b = url.as_bytes();
    let after = if starts_ci(b, 0, b"https://") {
        8
    } else if starts_ci(b, 0, b"http://") {
        7
    } else {
        return None;
    };
    let rest = &url[after..];
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = rest[..host_end].to_ascii_lowercase();
    let host = host
        .strip_prefix("www.")
        .or_else(|| host.strip_prefix("m."))
        .unwrap_or(&host)
        .to_string();
    Some((host, &rest[host_end..]))
}

fn path_and_query(rest: &str) -> (&str, &str) {
    let rest = &rest[..rest.find('#').unwrap_or(rest.len())];
    match rest.find('?') {
        Some(q) => (&rest[..q], &rest[q + 1..]),
        None => (rest, ""),
    }
}

fn id_run(s: &str) -> Option<&str> {
    let n = s
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        .count();
    (n > 0).then(|| &s[..n])
}

fn youtube_id(url: &str) -> Option<String> {
    let (host, rest) = split_url(url)?;
    let (path, query) = path_and_query(rest);
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let id = match host.as_str() {
        "youtu.be" => id_run(segs.first()?)?,
        "youtube.com" | "youtube-nocookie.com" | "music.youtube.com" => match segs.as_slice() {
            ["watch"] => query
                .split('&')
                .find_map(|kv| kv.strip_prefix("v="))
                .and_then(id_run)?,
            ["embed" | "shorts" | "v" | "live", id, ..] => id_run(id)?,
            _ => return None,
        },
        _ => return None,
    };
    Some(id.to_string())
}

fn vimeo_id(url: &str) -> Option<String> {
    let (host, rest) = split_url(url)?;
    if host != "vimeo.com" && host != "player.vimeo.com" {
        return None;
    }
    let (path, _) = path_and_query(rest);
    path.split('/')
        .rev()
        .find(|s| (1..=12).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string)
}

fn is_video_file(url: &str) -> bool {
    let Some((_, rest)) = split_url(url) else {
        return false;
    };
    let path = path_and_query(rest).0.to_ascii_lowercase();
    [".mp4", ".m4v", ".webm", ".ogv", ".mov", ".wmv", ".flv"]
        .iter()
        .any(|e| path.ends_with(e))
}

fn is_video_url(url: &str) -> bool {
    youtube_id(url).is_some() || vimeo_id(url).is_some() || is_video_file(url)
}

fn watch_url(id: &str) -> String {
    format!("https://www.youtube.com/watch?v={id}")
}

fn normalize_youtube(raw: &str) -> Option<String> {
    let raw = decode_url(raw);
    if is_http(&raw) {
        return Some(youtube_id(&raw).map_or(raw, |id| watch_url(&id)));
    }
    let id = id_run(&raw).filter(|id| id.len() == raw.len())?;
    Some(watch_url(id))
}

fn normalize_vimeo(raw: &str) -> Option<String> {
    let raw = decode_url(raw);
    if is_http(&raw) {
        return Some(raw);
    }
    (!raw.is_empty() && raw.len() <= 12 && raw.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("https://vimeo.com/{raw}"))
}

/// A line holding nothing but a video URL (or `<p>URL</p>`): where it ends and the URL.
fn video_line(text: &str, i: usize) -> Option<(usize, String)> {
    let b = text.as_bytes();
    let first = skip_ws(b, i);
    if !matches!(b.get(first), Some(b'h' | b'H' | b'<')) {
        return None;
    }
    let end = b[i..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |k| i + k);
    let line = text[i..end].trim_matches(is_ws_char);
    let lb = line.as_bytes();
    let inner = if starts_ci(lb, 0, b"<p") && matches!(lb.get(2), Some(b'>' | b' ')) {
        let gt = line.find('>')?;
        let body = line.get(gt + 1..line.len().checked_sub(4)?)?;
        if !line.get(line.len() - 4..)?.eq_ignore_ascii_case("</p>") {
            return None;
        }
        body.trim_matches(is_ws_char)
    } else {
        line
    };
    let url = decode_url(inner);
    (is_http(inner) && is_video_url(&url)).then_some((end, url))
}

// ---------------------------------------------------------------------------------------------
// Steps 2 and 3: shortcodes and video lines.

struct Tag {
    name: (usize, usize),
    attrs: (usize, usize),
    end: usize,
    self_closing: bool,
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// A shortcode's opening tag at `p` (`[name attrs]`, `[name attrs /]`, `[youtube=URL]`).
fn parse_tag(text: &str, p: usize) -> Option<Tag> {
    let b = text.as_bytes();
    if b.get(p) != Some(&b'[') {
        return None;
    }
    let mut j = p + 1;
    while j < b.len() && is_name_byte(b[j]) {
        j += 1;
    }
    if j == p + 1 {
        return None;
    }
    let name = &text[p + 1..j];
    let c = *b.get(j)?;
    if c == b']' {
        return Some(Tag {
            name: (p + 1, j),
            attrs: (j, j),
            end: j + 1,
            self_closing: false,
        });
    }
    if c == b'/' && b.get(j + 1) == Some(&b']') {
        return Some(Tag {
            name: (p + 1, j),
            attrs: (j, j),
            end: j + 2,
            self_closing: true,
        });
    }
    if !(is_ws(c) || c == b'/' || (c == b'=' && matches!(name, "youtube" | "vimeo"))) {
        return None;
    }
    let k = b[j..]
        .iter()
        .position(|&x| x == b']' || x == b'[')
        .map(|k| j + k)?;
    if b[k] != b']' {
        return None;
    }
    let self_closing = b[k - 1] == b'/';
    Some(Tag {
        name: (p + 1, j),
        attrs: (j, if self_closing { k - 1 } else { k }),
        end: k + 1,
        self_closing,
    })
}

#[derive(Default)]
struct Attrs {
    named: Vec<(String, String)>,
    positional: Vec<String>,
}

impl Attrs {
    fn get(&self, key: &str) -> Option<&str> {
        self.named
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// WordPress's `shortcode_parse_atts`: `a="v"`, `a='v'`, `a=v`, `"positional"`, `positional`.
fn parse_attrs(s: &str) -> Attrs {
    let s: String = s
        .chars()
        .map(|c| {
            if matches!(c, '\u{a0}' | '\u{200b}') {
                ' '
            } else {
                c
            }
        })
        .collect();
    let b = s.as_bytes();
    let mut attrs = Attrs::default();
    let mut i = 0;
    loop {
        i = skip_ws(b, i);
        if i >= b.len() {
            break;
        }
        let mut ne = i;
        while ne < b.len() && is_name_byte(b[ne]) {
            ne += 1;
        }
        if ne > i {
            let eq = skip_ws(b, ne);
            if b.get(eq) == Some(&b'=') {
                let v = skip_ws(b, eq + 1);
                let (value, next) = attr_value(&s, v);
                attrs
                    .named
                    .push((s[i..ne].to_ascii_lowercase(), value.to_string()));
                i = next;
                continue;
            }
        }
        match b[i] {
            q @ (b'"' | b'\'') => {
                let e = b[i + 1..]
                    .iter()
                    .position(|&x| x == q)
                    .map_or(b.len(), |k| i + 1 + k);
                attrs.positional.push(s[i + 1..e].to_string());
                i = e + 1;
            }
            _ => {
                let e = b[i..]
                    .iter()
                    .position(|&x| is_ws(x))
                    .map_or(b.len(), |k| i + k);
                attrs.positional.push(s[i..e].to_string());
                i = e;
            }
        }
    }
    attrs
}

fn attr_value(s: &str, v: usize) -> (&str, usize) {
    let b = s.as_bytes();
    match b.get(v) {
        Some(&q @ (b'"' | b'\'')) => {
            let e = b[v + 1..]
                .iter()
                .position(|&x| x == q)
                .map_or(b.len(), |k| v + 1 + k);
            (&s[v + 1..e], e + 1)
        }
        Some(_) => {
            let e = b[v..]
                .iter()
                .position(|&x| is_ws(x) || x == b'"' || x == b'\'')
                .map_or(b.len(), |k| v + k);
            (&s[v..e], e)
        }
        None => ("", v),
    }
}

fn digit_runs(s: &str) -> Vec<i64> {
    s.split(|c: char| !c.is_ascii_digit())
        .filter_map(|d| d.parse().ok())
        .collect()
}

/// `[caption]`: the image (with its link) and the caption text after it, or the `caption`
/// attribute of the older format, as a <figure>.
fn caption_html(attrs: &Attrs, content: &str) -> String {
    let attr = attrs.get("caption").map_or("", str::trim);
    let (media, caption) = if attr.is_empty() {
        split_caption(content)
    } else {
        (content.trim(), attr)
    };
    if caption.is_empty() {
        return media.to_string();
    }
    let align = attrs
        .get("align")
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .unwrap_or("alignnone");
    let extra = attrs
        .get("class")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| format!(" {}", esc(c)))
        .unwrap_or_default();
    let one_line = |s: &str| s.replace('\n', " ");
    format!(
        "<figure class=\"wp-caption {}{extra}\">{}<figcaption>{}</figcaption></figure>",
        esc(align),
        one_line(media),
        one_line(caption)
    )
}

fn split_caption(content: &str) -> (&str, &str) {
    let lower = content.to_ascii_lowercase();
    let lb = lower.as_bytes();
    let Some(img) = lower
        .find("<img")
        .filter(|&i| lb.get(i + 4).is_some_and(|&c| is_ws(c)))
    else {
        return (content.trim(), "");
    };
    let Some(img_end) = lower[img..].find('>').map(|k| img + k + 1) else {
        return (content.trim(), "");
    };
    let after = skip_ws(lb, img_end);
    let media_end = if starts(lb, after, b"</a>") {
        after + 4
    } else {
        img_end
    };
    (content[..media_end].trim(), content[media_end..].trim())
}

/// Where each `[/name]` closing tag starts, by name, in text order.
fn shortcode_closes(text: &str) -> HashMap<&str, Vec<usize>> {
    let b = text.as_bytes();
    let mut map: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut i = 0;
    while let Some(p) = find_at(b, b"[/", i) {
        let mut e = p + 2;
        while e < b.len() && is_name_byte(b[e]) {
            e += 1;
        }
        if e > p + 2 && b.get(e) == Some(&b']') {
            map.entry(&text[p + 2..e]).or_default().push(p);
        }
        i = p + 2;
    }
    map
}

struct Shortcodes<'a, 'c> {
    text: &'a str,
    closes: HashMap<&'a str, Vec<usize>>,
    cx: &'c mut Context,
}

const KNOWN: &[&str] = &[
    "caption",
    "wp_caption",
    "gallery",
    "embed",
    "video",
    "youtube",
    "vimeo",
    "audio",
    "playlist",
];

impl Shortcodes<'_, '_> {
    /// The first `[/name]` at or after `from`: its start and end.
    fn close_after(&self, name: &str, from: usize) -> Option<(usize, usize)> {
        let v = self.closes.get(name)?;
        let p = *v.get(v.partition_point(|&x| x < from))?;
        Some((p, p + name.len() + 3))
    }

    /// Keeps an opening tag as text and reports it.
    fn keep(&mut self, name: &str, end: usize, opening: &str) -> Option<(usize, String)> {
        self.cx.unknown(name);
        Some((end, opening.to_string()))
    }

    /// A shortcode at `p`: where it ends and what replaces it, or None when it is just text.
    fn at(&mut self, p: usize) -> Option<(usize, String)> {
        let text = self.text;
        let b = text.as_bytes();
        if b.get(p + 1) == Some(&b'[') {
            // `[[name]]` is the escaped, literal `[name]`.
            let tag = parse_tag(text, p + 1)?;
            if b.get(tag.end) == Some(&b']') {
                return Some((tag.end + 1, text[p + 1..tag.end].to_string()));
            }
            let name = &text[tag.name.0..tag.name.1];
            if !tag.self_closing
                && let Some((_, ce)) = self.close_after(name, tag.end)
                && b.get(ce) == Some(&b']')
            {
                return Some((ce + 1, text[p + 1..ce].to_string()));
            }
            return None;
        }
        let tag = parse_tag(text, p)?;
        let name = &text[tag.name.0..tag.name.1];
        let raw_attrs = &text[tag.attrs.0..tag.attrs.1];
        let opening = &text[p..tag.end];
        let known = KNOWN.contains(&name);
        if !known && !name.bytes().any(|c| c.is_ascii_alphabetic()) {
            return None;
        }
        let attrs = parse_attrs(raw_attrs);
        let close = if tag.self_closing {
            None
        } else {
            self.close_after(name, tag.end)
        };
        let content = close.map(|(cs, _)| &text[tag.end..cs]);
        let end = close.map_or(tag.end, |(_, ce)| ce);
        match name {
            "caption" | "wp_caption" => {
                let body = content.unwrap_or("");
                if attrs.get("caption").is_none_or(|c| c.trim().is_empty())
                    && body.trim().is_empty()
                {
                    return self.keep(name, tag.end, opening);
                }
                Some((end, caption_html(&attrs, body)))
            }
            "gallery" => {
                let ids = attrs
                    .get("ids")
                    .or_else(|| attrs.get("include"))
                    .map(digit_runs)
                    .unwrap_or_default();
                let rep = self.cx.placeholder(Pending::Gallery {
                    ids,
                    fallback: None,
                });
                Some((end, rep))
            }
            "embed" => {
                let Some(url) = content.and_then(embed_url) else {
                    return self.keep(name, tag.end, opening);
                };
                let p = if is_video_url(&url) {
                    Pending::Video(url)
                } else {
                    Pending::Html(link_block(&url))
                };
                Some((end, self.cx.placeholder(p)))
            }
            "video" => {
                let url = ["src", "mp4", "m4v", "webm", "ogv", "wmv", "flv"]
                    .iter()
                    .filter_map(|k| attrs.get(k))
                    .map(decode_url)
                    .find(|u| !u.is_empty());
                match url {
                    Some(url) => Some((end, self.cx.placeholder(Pending::Video(url)))),
                    None => self.keep(name, tag.end, opening),
                }
            }
            "youtube" | "vimeo" => {
                let raw = match raw_attrs.strip_prefix('=') {
                    Some(r) => Some(r.trim()),
                    None => attrs
                        .get("url")
                        .or_else(|| attrs.get("id"))
                        .or_else(|| attrs.positional.first().map(String::as_str))
                        .or(content),
                };
                let url = raw.and_then(if name == "youtube" {
                    normalize_youtube
                } else {
                    normalize_vimeo
                });
                match url {
                    Some(url) => Some((end, self.cx.placeholder(Pending::Video(url)))),
                    None => self.keep(name, tag.end, opening),
                }
            }
            "audio" | "playlist" => self.keep(name, tag.end, opening),
            _ if !attrs.named.is_empty() || close.is_some() => self.keep(name, tag.end, opening),
            _ => None,
        }
    }
}

/// The URL inside `[embed]…[/embed]` (plain, or auto-linked by the visual editor).
fn embed_url(content: &str) -> Option<String> {
    let c = content.trim();
    let url = if c.starts_with('<') {
        let e = c.find('>').unwrap_or(c.len());
        html_attr(&c[..e], "href")?
    } else {
        c.to_string()
    };
    let url = decode_url(&url);
    is_http(&url).then_some(url)
}

/// Skips an HTML tag, comment, or a whole protected element (<pre>, <code>, …) at `i`.
fn skip_markup(
    b: &[u8],
    lb: &[u8],
    i: usize,
    gt: &mut Finder,
    comment_end: &mut Finder,
    protect: &mut HashMap<&'static str, Finder>,
) -> Option<usize> {
    if starts(lb, i, b"<!--") {
        return comment_end.find(lb, i + 4).map(|e| e + 3);
    }
    let ns = if b.get(i + 1) == Some(&b'/') {
        i + 2
    } else {
        i + 1
    };
    if !b
        .get(ns)
        .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, b'!' | b'?'))
    {
        return None;
    }
    let tag_end = gt.find(b, ns)? + 1;
    if ns == i + 1 {
        let ne = alnum_end(lb, ns);
        if let Some(&name) = PROTECTED.iter().find(|n| lb[ns..ne] == *n.as_bytes())
            && lb
                .get(ne)
                .is_some_and(|&c| is_ws(c) || c == b'>' || c == b'/')
        {
            let f = protect
                .entry(name)
                .or_insert_with(|| Finder::new(format!("</{name}").as_bytes()));
            if let Some(c) = f.find(lb, tag_end) {
                return gt.find(b, c).map(|e| e + 1).or(Some(b.len()));
            }
        }
    }
    Some(tag_end)
}

fn expand(text: &str, cx: &mut Context) -> String {
    let b = text.as_bytes();
    let lower = text.to_ascii_lowercase();
    let lb = lower.as_bytes();
    let mut sc = Shortcodes {
        text,
        closes: shortcode_closes(text),
        cx,
    };
    let mut gt = Finder::new(b">");
    let mut comment_end = Finder::new(b"-->");
    let mut protect = HashMap::new();
    let mut out = String::with_capacity(text.len() + 64);
    let (mut i, mut copied, mut line_start) = (0, 0, true);
    while i < b.len() {
        if line_start {
            line_start = false;
            if let Some((end, url)) = video_line(text, i) {
                out.push_str(&text[copied..i]);
                out.push_str(&sc.cx.placeholder(Pending::Video(url)));
                i = end;
                copied = end;
                continue;
            }
        }
        match b[i] {
            b'\n' => {
                line_start = true;
                i += 1;
            }
            b'<' => {
                i = skip_markup(b, lb, i, &mut gt, &mut comment_end, &mut protect)
                    .filter(|&e| e > i && text.is_char_boundary(e))
                    .unwrap_or(i + 1);
            }
            b'[' => match sc.at(i) {
                Some((end, rep)) if end > i && text.is_char_boundary(end) => {
                    out.push_str(&text[copied..i]);
                    let mut next = end;
                    if rep.starts_with("\n\n") {
                        // A placeholder is its own block: no spaces left dangling around it.
                        let n = out.trim_end_matches([' ', '\t']).len();
                        out.truncate(n);
                        while matches!(b.get(next), Some(b' ' | b'\t')) {
                            next += 1;
                        }
                    }
                    out.push_str(&rep);
                    i = next;
                    copied = next;
                }
                _ => i += 1,
            },
            _ => i += 1,
        }
    }
    out.push_str(&text[copied..]);
    out
}

// ---------------------------------------------------------------------------------------------
// Step 4: wpautop, pass by pass.

/// `<pre>…</pre>` replaced by `<pre MARKn></pre>` (WordPress splits on `</pre>` the same way).
fn stash_pre(t: &str) -> (String, Vec<String>) {
    let lower = t.to_ascii_lowercase();
    let lb = lower.as_bytes();
    if find_at(lb, b"<pre", 0).is_none() {
        return (t.to_string(), Vec::new());
    }
    let mut out = String::with_capacity(t.len());
    let mut pres = Vec::new();
    let mut pos = 0;
    while let Some(c) = find_at(lb, b"</pre>", pos) {
        let mut s = pos;
        let open = loop {
            match find_at(&lb[..c], b"<pre", s) {
                Some(o)
                    if lb
                        .get(o + 4)
                        .is_some_and(|&x| is_ws(x) || x == b'>' || x == b'/') =>
                {
                    break Some(o);
                }
                Some(o) => s = o + 4,
                None => break None,
            }
        };
        match open {
            Some(o) => {
                out.push_str(&t[pos..o]);
                out.push_str(&format!("<pre {PRE_MARK}{}></pre>", pres.len()));
                pres.push(t[o..c + 6].to_string());
            }
            // A stray </pre>: WordPress drops it.
            None => out.push_str(&t[pos..c]),
        }
        pos = c + 6;
    }
    out.push_str(&t[pos..]);
    (out, pres)
}

fn restore_pre(t: &str, pres: &[String]) -> String {
    if pres.is_empty() {
        return t.to_string();
    }
    let open = format!("<pre {PRE_MARK}");
    let mut out = String::with_capacity(t.len() + pres.iter().map(String::len).sum::<usize>());
    let mut pos = 0;
    while let Some(k) = t.get(pos..).and_then(|s| s.find(&open)) {
        let s = pos + k;
        let after = s + open.len();
        let digits = t[after..].bytes().take_while(u8::is_ascii_digit).count();
        let idx: Option<usize> = t[after..after + digits].parse().ok();
        let close = after + digits;
        match idx.and_then(|n| pres.get(n)) {
            Some(pre) if t[close..].starts_with("></pre>") => {
                out.push_str(&t[pos..s]);
                out.push_str(pre);
                pos = close + 7;
            }
            _ => {
                out.push_str(&t[pos..after]);
                pos = after;
            }
        }
    }
    out.push_str(&t[pos..]);
    out
}

fn br_end(b: &[u8], i: usize) -> Option<usize> {
    if !starts_ci(b, i, b"<br") {
        return None;
    }
    let mut j = skip_ws(b, i + 3);
    if b.get(j) == Some(&b'/') {
        j += 1;
    }
    (b.get(j) == Some(&b'>')).then_some(j + 1)
}

/// Two <br>s in a row become a paragraph break.
fn collapse_double_br(t: &str) -> String {
    let b = t.as_bytes();
    scan(t, b"<", |i, out| {
        let first = br_end(b, i)?;
        let second = br_end(b, skip_ws(b, first))?;
        out.push_str("\n\n");
        Some(second)
    })
}

/// Blank lines above block-level start tags and below their end tags (and below <hr>).
fn space_blocks(t: &str) -> String {
    let b = t.as_bytes();
    scan(t, b"<", |i, out| {
        if b.get(i + 1) == Some(&b'/') {
            let ne = alnum_end(b, i + 2);
            if ne > i + 2 && is_wp_block(&b[i + 2..ne]) && b.get(ne) == Some(&b'>') {
                out.push_str(&t[i..=ne]);
                out.push_str("\n\n");
                return Some(ne + 1);
            }
            return None;
        }
        let ne = alnum_end(b, i + 1);
        if ne == i + 1 || !is_wp_block(&b[i + 1..ne]) {
            return None;
        }
        if !b
            .get(ne)
            .is_some_and(|&c| is_ws(c) || c == b'/' || c == b'>')
        {
            return None;
        }
        out.push_str("\n\n");
        if b[i + 1..ne].eq_ignore_ascii_case(b"hr") {
            let mut j = skip_ws(b, ne);
            if b.get(j) == Some(&b'/') {
                j += 1;
            }
            if b.get(j) == Some(&b'>') {
                out.push_str(&t[i..=j]);
                out.push_str("\n\n");
                return Some(j + 1);
            }
        }
        out.push_str(&t[i..ne]);
        Some(ne)
    })
}

/// Newlines inside tags and comments are set aside so they never become <br />.
fn protect_tag_newlines(t: &str) -> String {
    let b = t.as_bytes();
    let mut gt = Finder::new(b">");
    let mut comment_end = Finder::new(b"-->");
    scan(t, b"<", |i, out| {
        if !b
            .get(i + 1)
            .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, b'/' | b'!' | b'?'))
        {
            return None;
        }
        let end = if starts(b, i, b"<!--") {
            comment_end.find(b, i + 4)? + 3
        } else {
            gt.find(b, i + 1)? + 1
        };
        for c in t[i..end].chars() {
            out.push(if c == '\n' { NL_IN_TAG } else { c });
        }
        Some(end)
    })
}

fn trim_out_ws(out: &mut String) {
    let n = out.trim_end_matches(is_ws_char).len();
    out.truncate(n);
}

/// Collapses whitespace around <option>, <object>/<param>/<embed>, <audio>/<video> sources and
/// <figcaption> so wpautop leaves them alone.
fn collapse_media_whitespace(t: &str) -> String {
    let option = t.contains("<option");
    let object = t.contains("</object>");
    let av = t.contains("<source") || t.contains("<track");
    let fig = t.contains("<figcaption");
    if !(option || object || av || fig) {
        return t.to_string();
    }
    let b = t.as_bytes();
    let mut gt = Finder::new(b">");
    let mut gt_or_bracket = Finder::any_of(b">]");
    scan(t, b"<[", |i, out| {
        let tag_end = |gt: &mut Finder| gt.find(b, i + 1).map(|e| e + 1);
        let av_name = |k: usize| starts(b, k, b"audio") || starts(b, k, b"video");
        let (end, before, after) = if b[i] == b'[' {
            if !av {
                return None;
            }
            if av_name(i + 1) {
                (gt_or_bracket.find(b, i + 6)? + 1, false, true)
            } else if b.get(i + 1) == Some(&b'/')
                && av_name(i + 2)
                && matches!(b.get(i + 7), Some(b'>' | b']'))
            {
                (i + 8, true, false)
            } else {
                return None;
            }
        } else if option && starts(b, i, b"<option") {
            (i + 7, true, false)
        } else if option && starts(b, i, b"</option>") {
            (i + 9, false, true)
        } else if object && starts(b, i, b"<object") {
            (tag_end(&mut gt)?, false, true)
        } else if object && starts(b, i, b"</object>") {
            (i + 9, true, false)
        } else if object
            && ["<param", "<embed", "</param", "</embed"]
                .iter()
                .any(|p| starts(b, i, p.as_bytes()))
        {
            (tag_end(&mut gt)?, true, true)
        } else if av && av_name(i + 1) {
            (gt_or_bracket.find(b, i + 6)? + 1, false, true)
        } else if av
            && b.get(i + 1) == Some(&b'/')
            && av_name(i + 2)
            && matches!(b.get(i + 7), Some(b'>' | b']'))
        {
            (i + 8, true, false)
        } else if av && (starts(b, i, b"<source") || starts(b, i, b"<track")) {
            (tag_end(&mut gt)?, true, true)
        } else if fig && starts(b, i, b"<figcaption") {
            (tag_end(&mut gt)?, true, false)
        } else if fig && starts(b, i, b"</figcaption>") {
            (i + 13, false, true)
        } else {
            return None;
        };
        if before {
            trim_out_ws(out);
        }
        out.push_str(&t[i..end]);
        Some(if after { skip_ws(b, end) } else { end })
    })
}

/// Runs of three or more newlines become two.
fn squeeze_newlines(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut run = 0;
    for c in t.chars() {
        if c == '\n' {
            run += 1;
            if run > 2 {
                continue;
            }
        } else {
            run = 0;
        }
        out.push(c);
    }
    out
}

/// Splits at blank lines (`\n\s*\n`) and wraps every piece in <p>.
fn make_paragraphs(t: &str) -> String {
    let b = t.as_bytes();
    let mut out = String::with_capacity(t.len() + t.len() / 8);
    let mut push = |piece: &str| {
        if !piece.is_empty() {
            out.push_str("<p>");
            out.push_str(piece.trim_matches('\n'));
            out.push_str("</p>\n");
        }
    };
    let (mut start, mut i) = (0, 0);
    while i < b.len() {
        if !is_ws(b[i]) {
            i += 1;
            continue;
        }
        let (mut first, mut last, mut count) = (0, 0, 0);
        while i < b.len() && is_ws(b[i]) {
            if b[i] == b'\n' {
                if count == 0 {
                    first = i;
                }
                last = i;
                count += 1;
            }
            i += 1;
        }
        if count >= 2 {
            push(&t[start..first]);
            start = last + 1;
        }
    }
    push(&t[start..]);
    out
}

/// `<p>\s*</p>` removed.
fn drop_empty_paragraphs(t: &str) -> String {
    let b = t.as_bytes();
    scan(t, b"<", |i, _| {
        if !starts(b, i, b"<p>") {
            return None;
        }
        let j = skip_ws(b, i + 3);
        starts(b, j, b"</p>").then_some(j + 4)
    })
}

/// `<p>text</div>` gets its missing `</p>` (also for </address> and </form>).
fn close_open_paragraph(t: &str) -> String {
    let b = t.as_bytes();
    let mut lt = Finder::new(b"<");
    scan(t, b"<", |i, out| {
        if !starts(b, i, b"<p>") {
            return None;
        }
        let k = lt.find(b, i + 3)?;
        if k == i + 3 {
            return None;
        }
        let close = ["</div>", "</address>", "</form>"]
            .iter()
            .find(|c| starts(b, k, c.as_bytes()))?;
        out.push_str(&t[i..k]);
        out.push_str("</p>");
        out.push_str(close);
        Some(k + close.len())
    })
}

/// The end of a block-level start or end tag at `i`.
fn block_tag_end(b: &[u8], i: usize, gt: &mut Finder) -> Option<usize> {
    if b.get(i) != Some(&b'<') {
        return None;
    }
    let j = if b.get(i + 1) == Some(&b'/') {
        i + 2
    } else {
        i + 1
    };
    let ne = alnum_end(b, j);
    if ne == j || !is_wp_block(&b[j..ne]) {
        return None;
    }
    if !b
        .get(ne)
        .is_some_and(|&c| is_ws(c) || c == b'/' || c == b'>')
    {
        return None;
    }
    gt.find(b, ne).map(|e| e + 1)
}

/// `<p><div></p>` → `<div>`.
fn unwrap_lone_block_tag(t: &str) -> String {
    let b = t.as_bytes();
    let mut gt = Finder::new(b">");
    scan(t, b"<", |i, out| {
        if !starts(b, i, b"<p>") {
            return None;
        }
        let j = skip_ws(b, i + 3);
        let e = block_tag_end(b, j, &mut gt)?;
        let k = skip_ws(b, e);
        if !starts(b, k, b"</p>") {
            return None;
        }
        out.push_str(&t[j..e]);
        Some(k + 4)
    })
}

/// `<p><li>…</p>` on one line loses its <p>.
fn unwrap_list_items(t: &str) -> String {
    let b = t.as_bytes();
    let mut p_close = Finder::new(b"</p>");
    let mut nl = Finder::new(b"\n");
    scan(t, b"<", |i, out| {
        if !starts(b, i, b"<p><li") {
            return None;
        }
        let c = p_close.find(b, i + 7)?;
        if nl.find(b, i).is_some_and(|n| n < c) {
            return None;
        }
        out.push_str(&t[i + 3..c]);
        Some(c + 4)
    })
}

/// A <blockquote> wrapped in <p> gets the <p> inside it instead.
fn fix_blockquote(t: &str) -> String {
    let b = t.as_bytes();
    let mut gt = Finder::new(b">");
    let t = scan(t, b"<", |i, out| {
        if !starts_ci(b, i, b"<p><blockquote") {
            return None;
        }
        let e = gt.find(b, i + 14)?;
        out.push_str("<blockquote");
        out.push_str(&t[i + 14..e]);
        out.push_str("><p>");
        Some(e + 1)
    });
    t.replace("</blockquote></p>", "</p></blockquote>")
}

/// `<p>` right before a block tag removed.
fn strip_p_before_block(t: &str) -> String {
    let b = t.as_bytes();
    let mut gt = Finder::new(b">");
    scan(t, b"<", |i, out| {
        if !starts(b, i, b"<p>") {
            return None;
        }
        let j = skip_ws(b, i + 3);
        let e = block_tag_end(b, j, &mut gt)?;
        out.push_str(&t[j..e]);
        Some(e)
    })
}

/// `what` (`</p>`, `<br />`) right after a block tag removed.
fn strip_after_block(t: &str, what: &str) -> String {
    let b = t.as_bytes();
    let mut gt = Finder::new(b">");
    scan(t, b"<", |i, out| {
        let e = block_tag_end(b, i, &mut gt)?;
        out.push_str(&t[i..e]);
        let k = skip_ws(b, e);
        Some(if starts(b, k, what.as_bytes()) {
            k + what.len()
        } else {
            e
        })
    })
}

/// Single newlines become `<br />` (except inside script, style, svg and math).
fn insert_line_breaks(t: &str) -> String {
    let b = t.as_bytes();
    let mut ends: HashMap<&str, Finder> = HashMap::new();
    let t = scan(t, b"<", |i, out| {
        let name = ["script", "style", "svg", "math"]
            .into_iter()
            .find(|n| starts(b, i + 1, n.as_bytes()))?;
        let f = ends
            .entry(name)
            .or_insert_with(|| Finder::new(format!("</{name}>").as_bytes()));
        let c = f.find(b, i + 1 + name.len())?;
        let end = c + name.len() + 3;
        for ch in t[i..end].chars() {
            out.push(if ch == '\n' { NL_KEEP } else { ch });
        }
        Some(end)
    });
    let t = t.replace("<br>", "<br />").replace("<br/>", "<br />");
    let b = t.as_bytes();
    let mut out = String::with_capacity(t.len() + t.len() / 8);
    let mut i = 0;
    while i < b.len() {
        if !is_ws(b[i]) {
            let n = b[i..]
                .iter()
                .position(|&c| is_ws(c))
                .map_or(b.len(), |k| i + k);
            out.push_str(&t[i..n]);
            i = n;
            continue;
        }
        let s = i;
        let mut last_nl = None;
        while i < b.len() && is_ws(b[i]) {
            if b[i] == b'\n' {
                last_nl = Some(i);
            }
            i += 1;
        }
        let Some(l) = last_nl else {
            out.push_str(&t[s..i]);
            continue;
        };
        // `(?<!<br />)\s*\n`: after a <br /> the match may only start one character later.
        if b[..s].ends_with(b"<br />") {
            if l > s {
                out.push_str(&t[s..s + 1]);
                out.push_str("<br />\n");
            } else {
                out.push_str(&t[s..=l]);
            }
        } else {
            out.push_str("<br />\n");
        }
        out.push_str(&t[l + 1..i]);
    }
    out.replace(NL_KEEP, "\n")
}

/// `<br />` right before some block tags removed.
fn strip_br_before_block(t: &str) -> String {
    const NAMES: &[&str] = &[
        "p", "li", "div", "dl", "dd", "dt", "th", "pre", "td", "ul", "ol",
    ];
    let b = t.as_bytes();
    let mut gt = Finder::new(b">");
    scan(t, b"<", |i, _| {
        if !starts(b, i, b"<br />") {
            return None;
        }
        let k = skip_ws(b, i + 6);
        if b.get(k) != Some(&b'<') {
            return None;
        }
        let j = if b.get(k + 1) == Some(&b'/') {
            k + 2
        } else {
            k + 1
        };
        let ne = alnum_end(b, j);
        if ne == j
            || !in_list(&b[j..ne], NAMES)
            || !b
                .get(ne)
                .is_some_and(|&c| is_ws(c) || c == b'/' || c == b'>')
        {
            return None;
        }
        gt.find(b, ne)?;
        Some(i + 6)
    })
}

/// `\n</p>$` → `</p>`.
fn trim_final_break(mut t: String) -> String {
    if t.ends_with("\n</p>") {
        t.truncate(t.len() - 5);
        t.push_str("</p>");
    } else if t.ends_with("\n</p>\n") {
        t.truncate(t.len() - 6);
        t.push_str("</p>\n");
    }
    t
}

// ---------------------------------------------------------------------------------------------
// Step 5: layout for CommonMark. Top-level blocks at column 0, one blank line apart, no blank
// line inside a block, no indented line outside <pre>, every block opening with a block tag.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Empty,
    /// Text or inline elements at the top level: wrapped in <p>.
    Stray,
    /// A top-level element; `div` wraps elements CommonMark does not know, `pre` is a <pre>
    /// block CommonMark keeps verbatim up to </pre>.
    Element {
        div: bool,
        pre: bool,
    },
}

struct Open {
    name: String,
    tag: String,
    start: usize,
    after: usize,
}

struct Layout<'r> {
    resolved: &'r [Option<String>],
    out: String,
    block: String,
    kind: Kind,
    stack: Vec<Open>,
    counts: HashMap<String, usize>,
    /// After a hoisted placeholder: the open elements are not yet written into the new block.
    suspended: bool,
    /// Newlines since the last visible character of a stray paragraph.
    newlines: usize,
    /// A literal `</pre>` was written in a top-level <pre> block (CommonMark's end of it).
    pre_ended: bool,
}

enum Tok {
    Comment,
    Open(String),
    Close(String),
    Raw(String),
    Other,
}

fn layout_block(name: &str) -> bool {
    let n = name.as_bytes();
    (is_wp_block(n) || in_list(n, EXTRA_BLOCKS)) && !in_list(n, RAW_TEXT)
}

/// Splits the final HTML into tags, comments and raw-text elements, with the finders that keep
/// the scan linear.
struct Tokenizer {
    gt: Finder,
    comment_end: Finder,
    raw_close: HashMap<String, Finder>,
    /// Where the placeholders are, in order.
    markers: Vec<usize>,
}

impl Tokenizer {
    fn token(&mut self, html: &str, lb: &[u8], i: usize, allow_raw: bool) -> Option<(usize, Tok)> {
        let Tokenizer {
            gt,
            comment_end,
            raw_close,
            markers,
        } = self;
        let b = html.as_bytes();
        if starts(lb, i, b"<!--") {
            return Some((comment_end.find(lb, i + 4)? + 3, Tok::Comment));
        }
        let close = b.get(i + 1) == Some(&b'/');
        let ns = if close { i + 2 } else { i + 1 };
        match b.get(ns) {
            Some(c) if c.is_ascii_alphabetic() => {}
            Some(b'!' | b'?') if !close => return Some((gt.find(b, ns)? + 1, Tok::Other)),
            _ => return None,
        }
        let mut ne = ns;
        while ne < b.len() && (b[ne].is_ascii_alphanumeric() || b[ne] == b'-') {
            ne += 1;
        }
        let name = String::from_utf8_lossy(&lb[ns..ne]).into_owned();
        let end = gt.find(b, ne)? + 1;
        if close {
            return Some((end, Tok::Close(name)));
        }
        if in_list(name.as_bytes(), RAW_TEXT) {
            if !allow_raw {
                return Some((end, Tok::Other));
            }
            let f = raw_close
                .entry(name.clone())
                .or_insert_with(|| Finder::new(format!("</{name}").as_bytes()));
            // Never swallow a placeholder: then only the start tag is taken.
            let swallows = |e: usize| {
                markers
                    .get(markers.partition_point(|&m| m < i))
                    .is_some_and(|&m| m < e)
            };
            return Some(match f.find(lb, end).and_then(|c| gt.find(b, c)) {
                Some(e) if !swallows(e) => (e + 1, Tok::Raw(name)),
                _ => (end, Tok::Other),
            });
        }
        Some((end, Tok::Open(name)))
    }
}

fn layout(html: &str, resolved: &[Option<String>]) -> String {
    let b = html.as_bytes();
    let lower = html.to_ascii_lowercase();
    let lb = lower.as_bytes();
    let mut l = Layout {
        resolved,
        out: String::with_capacity(html.len() + html.len() / 16),
        block: String::new(),
        kind: Kind::Empty,
        stack: Vec::new(),
        counts: HashMap::new(),
        suspended: false,
        newlines: 0,
        pre_ended: false,
    };
    let mut tokens = Tokenizer {
        gt: Finder::new(b">"),
        comment_end: Finder::new(b"-->"),
        raw_close: HashMap::new(),
        markers: html.match_indices(PH_OPEN).map(|(m, _)| m).collect(),
    };
    let (mut i, mut text_from) = (0, 0);
    while i < b.len() {
        let piece = match b[i] {
            b'<' => {
                let allow_raw = !l.verbatim_pre();
                tokens
                    .token(html, lb, i, allow_raw)
                    .map(|(end, tok)| (end, Piece::Tok(tok)))
            }
            0xEF => placeholder_at(html, i).map(|(end, idx)| (end, Piece::Marker(idx))),
            _ => None,
        };
        let Some((end, piece)) = piece.filter(|(end, _)| *end > i && html.is_char_boundary(*end))
        else {
            i += 1;
            continue;
        };
        l.text(&html[text_from..i]);
        let src = &html[i..end];
        match piece {
            Piece::Marker(idx) => l.marker(idx),
            Piece::Tok(Tok::Comment) => {}
            // CommonMark ends a <pre> block at the first `</pre>`: no nested <pre> in one.
            Piece::Tok(Tok::Open(name)) if name == "pre" && l.verbatim_pre() => l.inline(src),
            Piece::Tok(Tok::Open(name)) if layout_block(&name) => l.open(name, src),
            Piece::Tok(Tok::Close(name)) if layout_block(&name) => l.close(&name, src),
            Piece::Tok(Tok::Raw(name)) => l.raw_element(&name, src),
            Piece::Tok(_) => l.inline(src),
        }
        i = end;
        text_from = end;
    }
    l.text(&html[text_from..]);
    l.finish()
}

enum Piece {
    Tok(Tok),
    Marker(usize),
}

fn line_blank(block: &str) -> bool {
    block
        .bytes()
        .rev()
        .take_while(|&b| b != b'\n')
        .all(|b| b == b' ' || b == b'\t')
}

impl Layout<'_> {
    /// Inside a top-level <pre> block, which CommonMark copies verbatim up to `</pre>`.
    fn verbatim_pre(&self) -> bool {
        matches!(self.kind, Kind::Element { pre: true, .. }) && !self.pre_ended && self.in_pre()
    }

    fn in_pre(&self) -> bool {
        self.counts.get("pre").is_some_and(|&n| n > 0)
    }

    fn at_line_start(&self) -> bool {
        self.block.is_empty() || self.block.ends_with('\n')
    }

    /// One character into the current block, under the line rules.
    fn put(&mut self, c: char) {
        if matches!(c, '\u{FDD0}'..='\u{FDEF}') {
            return;
        }
        if self.verbatim_pre() {
            self.block.push(c);
            if c == '>' && self.block.len() >= 6 {
                let tail = &self.block.as_bytes()[self.block.len() - 6..];
                self.pre_ended |= tail.eq_ignore_ascii_case(b"</pre>");
            }
            return;
        }
        if self.in_pre() && !self.pre_ended {
            if c == '\n' && line_blank(&self.block) {
                // A blank line would end the surrounding HTML block: keep it as a reference.
                self.block.push_str("&#10;");
            } else {
                self.block.push(c);
            }
            return;
        }
        match c {
            '\n' => {
                let n = self
                    .block
                    .trim_end_matches([' ', '\t', '\x0b', '\x0c', '\r'])
                    .len();
                self.block.truncate(n);
                if !self.at_line_start() {
                    self.block.push('\n');
                }
            }
            ' ' | '\t' | '\x0b' | '\x0c' | '\r' if self.at_line_start() => {}
            _ => self.block.push(c),
        }
    }

    fn put_str(&mut self, s: &str) {
        for c in s.chars() {
            self.put(c);
        }
    }

    fn text(&mut self, s: &str) {
        for c in s.chars() {
            if self.stack.is_empty() {
                if self.kind == Kind::Stray {
                    if c == '\n' {
                        self.newlines += 1;
                        if self.newlines >= 2 {
                            self.flush();
                            continue;
                        }
                    } else if !is_ws_char(c) {
                        self.newlines = 0;
                    }
                    self.put(c);
                } else if !is_ws_char(c) {
                    if self.kind != Kind::Empty {
                        self.flush();
                    }
                    self.kind = Kind::Stray;
                    self.newlines = 0;
                    self.put(c);
                }
            } else {
                if self.suspended {
                    if is_ws_char(c) {
                        continue;
                    }
                    self.resume();
                }
                self.put(c);
            }
        }
    }

    /// Writes the open elements again at the start of a block that follows a placeholder.
    fn resume(&mut self) {
        self.suspended = false;
        let Some(first) = self.stack.first() else {
            return;
        };
        self.kind = Kind::Element {
            div: in_list(first.name.as_bytes(), NEEDS_DIV),
            pre: first.name == "pre",
        };
        for k in 0..self.stack.len() {
            let start = self.block.len();
            let tag = self.stack[k].tag.clone();
            self.put_str(&tag);
            self.stack[k].start = start;
            self.stack[k].after = self.block.len();
        }
    }

    fn dec(&mut self, name: &str) {
        if let Some(n) = self.counts.get_mut(name) {
            *n = n.saturating_sub(1);
        }
    }

    fn top(&self) -> Option<&str> {
        self.stack.last().map(|o| o.name.as_str())
    }

    /// HTML's implied end tags, for the elements where they are common.
    fn implied_end(&mut self, name: &str) {
        if in_list(name.as_bytes(), P_CLOSERS) && self.top() == Some("p") {
            self.pop_implied(true);
        }
        match name {
            "li" if self.top() == Some("li") => self.pop_implied(false),
            "dd" | "dt" if matches!(self.top(), Some("dd" | "dt")) => self.pop_implied(false),
            "td" | "th" if matches!(self.top(), Some("td" | "th")) => self.pop_implied(false),
            "tr" => {
                if matches!(self.top(), Some("td" | "th")) {
                    self.pop_implied(false);
                }
                if self.top() == Some("tr") {
                    self.pop_implied(false);
                }
            }
            _ => {}
        }
    }

    fn pop_implied(&mut self, drop_if_empty: bool) {
        let Some(o) = self.stack.pop() else {
            return;
        };
        self.dec(&o.name);
        if !self.suspended
            && drop_if_empty
            && self.block.get(o.after..).is_some_and(ws_only)
            && self.block.is_char_boundary(o.start)
        {
            self.block.truncate(o.start);
        }
        if self.stack.is_empty() {
            self.suspended = false;
            self.flush();
        }
    }

    fn open(&mut self, name: String, tag: &str) {
        self.implied_end(&name);
        if self.stack.is_empty() {
            if self.kind != Kind::Empty {
                self.flush();
            }
            self.kind = Kind::Element {
                div: in_list(name.as_bytes(), NEEDS_DIV),
                pre: name == "pre",
            };
        } else if self.suspended {
            self.resume();
        }
        let start = self.block.len();
        if name == "pre" {
            // CommonMark ends a <pre> block at a literal `</pre>`: keep both tags lower case.
            self.put_str("<pre");
            self.put_str(tag.get(4..).unwrap_or(">"));
        } else {
            self.put_str(tag);
        }
        let after = self.block.len();
        if in_list(name.as_bytes(), VOID_BLOCKS) {
            if self.stack.is_empty() {
                self.flush();
            }
            return;
        }
        *self.counts.entry(name.clone()).or_default() += 1;
        self.stack.push(Open {
            name,
            tag: tag.to_string(),
            start,
            after,
        });
    }

    fn close(&mut self, name: &str, tag: &str) {
        if self.counts.get(name).copied().unwrap_or(0) == 0 {
            // An end tag with nothing to close: HTML ignores it, so does the layout.
            return;
        }
        while let Some(o) = self.stack.pop() {
            self.dec(&o.name);
            if o.name == name {
                if !self.suspended {
                    self.put_str(if name == "pre" { "</pre>" } else { tag });
                }
                break;
            }
        }
        if self.stack.is_empty() {
            self.suspended = false;
            self.flush();
        }
    }

    fn inline(&mut self, piece: &str) {
        if self.stack.is_empty() {
            if self.kind != Kind::Stray {
                if self.kind != Kind::Empty {
                    self.flush();
                }
                self.kind = Kind::Stray;
            }
            self.newlines = 0;
        } else if self.suspended {
            self.resume();
        }
        self.put_str(piece);
    }

    fn raw_element(&mut self, name: &str, piece: &str) {
        if self.stack.is_empty() && matches!(name, "script" | "style" | "textarea") {
            if self.kind != Kind::Empty {
                self.flush();
            }
            self.kind = Kind::Element {
                div: false,
                pre: false,
            };
            self.put_str(piece);
            self.flush();
        } else {
            self.inline(piece);
        }
    }

    /// A hook's block, hoisted out of whatever encloses it: the enclosing elements are closed
    /// before it (or dropped when still empty) and opened again after it.
    fn marker(&mut self, idx: usize) {
        if !self.suspended {
            let mut k = self.stack.len();
            while k > 0 {
                let o = &self.stack[k - 1];
                if self.block.get(o.after..).is_some_and(ws_only)
                    && self.block.is_char_boundary(o.start)
                {
                    self.block.truncate(o.start);
                    k -= 1;
                } else {
                    break;
                }
            }
            let closers: String = self.stack[..k]
                .iter()
                .rev()
                .map(|o| format!("</{}>", o.name))
                .collect();
            self.put_str(&closers);
        }
        self.flush();
        if let Some(Some(s)) = self.resolved.get(idx) {
            let s = s.trim();
            if !s.is_empty() {
                self.emit(s);
            }
        }
        self.suspended = !self.stack.is_empty();
    }

    fn emit(&mut self, s: &str) {
        if !self.out.is_empty() {
            self.out.push_str("\n\n");
        }
        self.out.push_str(s);
    }

    fn flush(&mut self) {
        let block = std::mem::take(&mut self.block);
        let kind = std::mem::replace(&mut self.kind, Kind::Empty);
        self.newlines = 0;
        self.pre_ended = false;
        let body = block.trim_end_matches(is_ws_char);
        let visible = body.trim_start_matches(is_ws_char);
        if visible.is_empty() {
            return;
        }
        match kind {
            Kind::Stray => self.emit(&format!("<p>{visible}</p>")),
            Kind::Element { div: true, .. } => self.emit(&format!("<div>{visible}</div>")),
            _ => self.emit(visible),
        }
    }

    fn finish(mut self) -> String {
        self.flush();
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        self.out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Records every hook call; galleries become album markers, videos video markers (or
    /// links when `decline_videos`).
    #[derive(Default)]
    struct Rec {
        galleries: Vec<Vec<i64>>,
        videos: Vec<String>,
        decline_videos: bool,
        decline_galleries: bool,
    }

    impl Hooks for Rec {
        fn gallery(&mut self, ids: &[i64]) -> Option<String> {
            self.galleries.push(ids.to_vec());
            (!self.decline_galleries).then(|| format!("[[album:g{}]]", self.galleries.len()))
        }
        fn video(&mut self, url: &str) -> Option<String> {
            self.videos.push(url.to_string());
            (!self.decline_videos).then(|| format!("[[video:v{}]]", self.videos.len()))
        }
    }

    fn conv(s: &str) -> (Converted, Rec) {
        let mut rec = Rec::default();
        let c = convert(s, &mut rec);
        check_layout(&c.html);
        (c, rec)
    }

    /// Rule 5 as CommonMark sees it: blocks at column 0, one blank line apart, each opening
    /// with a tag or being a marker; a top-level <pre> block is verbatim up to its `</pre>`
    /// line; no indented line in a block unless a <pre> is open in it.
    fn check_layout(html: &str) {
        if html.is_empty() {
            return;
        }
        assert!(html.ends_with('\n') && !html.ends_with("\n\n"), "{html:?}");
        let (mut verbatim, mut block_start, mut pre_seen) = (false, true, false);
        for line in html.trim_end_matches('\n').split('\n') {
            let lower = line.to_ascii_lowercase();
            if verbatim {
                verbatim = !lower.contains("</pre>");
                continue;
            }
            if line.is_empty() {
                assert!(!block_start, "two blank lines in a row: {html:?}");
                (block_start, pre_seen) = (true, false);
                continue;
            }
            if block_start {
                assert!(
                    line.starts_with('<') || line.starts_with("[["),
                    "block starts with text: {line:?} in {html:?}"
                );
                verbatim = lower.starts_with("<pre") && !lower.contains("</pre>");
            } else if !pre_seen {
                assert!(
                    !line.starts_with(' ') && !line.starts_with('\t'),
                    "indented line {line:?} in {html:?}"
                );
            }
            pre_seen |= lower.contains("<pre");
            block_start = false;
        }
    }

    fn render(md: &str) -> String {
        use pulldown_cmark::{Options, Parser, html};
        let mut opts = Options::empty();
        opts.insert(Options::ENABLE_TABLES);
        opts.insert(Options::ENABLE_STRIKETHROUGH);
        opts.insert(Options::ENABLE_FOOTNOTES);
        let mut out = String::new();
        html::push_html(&mut out, Parser::new_ext(md, opts));
        out
    }

    // ---- wpautop ------------------------------------------------------------------------

    #[test]
    fn autop_two_paragraphs() {
        assert_eq!(autop("Hello\n\nWorld"), "<p>Hello</p>\n<p>World</p>\n");
        assert_eq!(
            autop("Hello\r\n\r\n\r\nWorld\n"),
            "<p>Hello</p>\n<p>World</p>\n"
        );
    }

    #[test]
    fn autop_single_newline_is_br() {
        assert_eq!(autop("a\nb"), "<p>a<br />\nb</p>\n");
        assert_eq!(autop("a<br>\nb"), "<p>a<br />\nb</p>\n");
    }

    #[test]
    fn autop_empty() {
        assert_eq!(autop(""), "");
        assert_eq!(autop(" \n\t\n"), "");
    }

    #[test]
    fn autop_double_br_is_paragraph_break() {
        assert_eq!(autop("a<br><br />b"), "<p>a</p>\n<p>b</p>\n");
    }

    #[test]
    fn autop_block_elements_not_wrapped() {
        assert_eq!(autop("<div>x</div>\n\ntext"), "<div>x</div>\n<p>text</p>\n");
        assert_eq!(
            autop("<h2>Title</h2>\nText"),
            "<h2>Title</h2>\n<p>Text</p>\n"
        );
        assert_eq!(autop("a\n<hr />\nb"), "<p>a</p>\n<hr />\n<p>b</p>\n");
        assert_eq!(
            autop("<blockquote>q</blockquote>"),
            "<blockquote><p>q</p></blockquote>\n"
        );
    }

    #[test]
    fn autop_lists() {
        assert_eq!(
            autop("<ul>\n<li>a</li>\n<li>b</li>\n</ul>"),
            "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n"
        );
        assert_eq!(
            autop("Intro\n<ol><li>one</li><li>two</li></ol>"),
            "<p>Intro</p>\n<ol>\n<li>one</li>\n<li>two</li>\n</ol>\n"
        );
    }

    #[test]
    fn autop_pre_untouched() {
        let out = autop("Before\n<pre>line 1\n\n    line 2\n</pre>\nAfter");
        assert!(out.contains("<pre>line 1\n\n    line 2\n</pre>"), "{out}");
        assert!(out.starts_with("<p>Before</p>\n"), "{out}");
        assert!(out.contains("<p>After</p>"), "{out}");
        assert!(!out.contains("line 1<br"), "{out}");
    }

    #[test]
    fn autop_newlines_inside_tags_kept() {
        let out = autop("<a\nhref=\"x\">link</a> text");
        assert_eq!(out, "<p><a\nhref=\"x\">link</a> text</p>\n");
    }

    #[test]
    fn autop_figcaption_and_script() {
        let out = autop("<figure><img src=\"a.jpg\" />\n<figcaption>Cap</figcaption>\n</figure>");
        assert_eq!(
            out,
            "<figure><img src=\"a.jpg\" /><figcaption>Cap</figcaption></figure>\n"
        );
        let out = autop("<script>\na();\nb();\n</script>");
        assert!(out.contains("<script>\na();\nb();\n</script>"), "{out}");
    }

    // ---- block editor -------------------------------------------------------------------

    #[test]
    fn block_comments_removed_and_no_autop() {
        let src = "<!-- wp:paragraph -->\n<p>Hello\nthere</p>\n<!-- /wp:paragraph -->\n\n\
                   <!-- wp:separator -->\n<hr class=\"wp-block-separator\"/>\n<!-- /wp:separator -->\n\n\
                   <!-- wp:image {\"id\":5,\"sizeSlug\":\"large\"} -->\n\
                   <figure class=\"wp-block-image size-large\"><img src=\"a.jpg\" alt=\"\" class=\"wp-image-5\"/></figure>\n\
                   <!-- /wp:image -->\n\n<!-- wp:latest-posts /-->\n<!--more-->";
        let (c, _) = conv(src);
        assert_eq!(
            c.html,
            "<p>Hello\nthere</p>\n\n<hr class=\"wp-block-separator\"/>\n\n\
             <figure class=\"wp-block-image size-large\"><img src=\"a.jpg\" alt=\"\" class=\"wp-image-5\"/></figure>\n"
        );
        assert!(c.unknown_shortcodes.is_empty());
    }

    #[test]
    fn block_content_stray_text_is_wrapped() {
        let (c, _) =
            conv("<!-- wp:paragraph --><p>a</p><!-- /wp:paragraph -->\nloose *text*\n\nmore");
        assert_eq!(c.html, "<p>a</p>\n\n<p>loose *text*</p>\n\n<p>more</p>\n");
    }

    #[test]
    fn block_gallery_and_embed() {
        let src = "<!-- wp:gallery {\"ids\":[7,8],\"linkTo\":\"none\"} -->\n\
                   <figure class=\"wp-block-gallery\"><ul><li><img data-id=\"7\" src=\"a.jpg\"/></li></ul></figure>\n\
                   <!-- /wp:gallery -->\n\n\
                   <!-- wp:embed {\"url\":\"https:\\/\\/www.youtube.com\\/watch?v=abcdefghijk\",\"type\":\"video\"} -->\n\
                   <figure class=\"wp-block-embed is-type-video\"><div class=\"wp-block-embed__wrapper\">\n\
                   https://www.youtube.com/watch?v=abcdefghijk\n</div><figcaption>My clip</figcaption></figure>\n\
                   <!-- /wp:embed -->\n\n\
                   <!-- wp:gallery {\"linkTo\":\"none\"} -->\n<figure class=\"wp-block-gallery has-nested-images\">\
                   <!-- wp:image {\"id\":11} -->\n<figure class=\"wp-block-image\"><img src=\"b.jpg\"/></figure>\n<!-- /wp:image -->\n\n\
                   <!-- wp:image {\"id\":12} -->\n<figure class=\"wp-block-image\"><img src=\"c.jpg\"/></figure>\n<!-- /wp:image --></figure>\n\
                   <!-- /wp:gallery -->";
        let (c, rec) = conv(src);
        assert_eq!(rec.galleries, vec![vec![7, 8], vec![11, 12]]);
        assert_eq!(
            rec.videos,
            vec!["https://www.youtube.com/watch?v=abcdefghijk"]
        );
        assert_eq!(
            c.html,
            "[[album:g1]]\n\n[[video:v1]]\n\n<p>My clip</p>\n\n[[album:g2]]\n"
        );
    }

    #[test]
    fn declined_block_gallery_keeps_its_html() {
        let src = "<!-- wp:gallery {\"ids\":[1]} -->\n<figure class=\"wp-block-gallery\">\n\n    <img src=\"a.jpg\"/></figure>\n<!-- /wp:gallery -->";
        let mut rec = Rec {
            decline_galleries: true,
            ..Rec::default()
        };
        let c = convert(src, &mut rec);
        check_layout(&c.html);
        assert_eq!(
            c.html,
            "<figure class=\"wp-block-gallery\">\n<img src=\"a.jpg\"/></figure>\n"
        );
    }

    #[test]
    fn paragraph_with_bare_url_in_block_content() {
        let (c, rec) = conv(
            "<!-- wp:paragraph -->\n<p>https://youtu.be/abcdefghijk</p>\n<!-- /wp:paragraph -->\n\n\
             <!-- wp:paragraph -->\n<p>See https://youtu.be/abcdefghijk here</p>\n<!-- /wp:paragraph -->",
        );
        assert_eq!(rec.videos, vec!["https://youtu.be/abcdefghijk"]);
        assert_eq!(
            c.html,
            "[[video:v1]]\n\n<p>See https://youtu.be/abcdefghijk here</p>\n"
        );
    }

    // ---- shortcodes ---------------------------------------------------------------------

    #[test]
    fn caption_new_form() {
        let (c, _) = conv(
            "[caption id=\"attachment_12\" align=\"alignleft\" width=\"300\"]<a href=\"http://x/a.jpg\"><img class=\"size-medium\" src=\"http://x/a-300.jpg\" alt=\"\" width=\"300\" height=\"200\" /></a> Caption – text[/caption]\n\nAfter.",
        );
        assert_eq!(
            c.html,
            "<figure class=\"wp-caption alignleft\"><a href=\"http://x/a.jpg\"><img class=\"size-medium\" src=\"http://x/a-300.jpg\" alt=\"\" width=\"300\" height=\"200\" /></a><figcaption>Caption – text</figcaption></figure>\n\n<p>After.</p>\n"
        );
    }

    #[test]
    fn caption_old_form_and_alias() {
        let (c, _) = conv(
            "[wp_caption id=\"attachment_3\" align=\"aligncenter\" width=\"500\" caption=\"Old style\"]<img src=\"b.jpg\" alt=\"\" />[/wp_caption]",
        );
        assert_eq!(
            c.html,
            "<figure class=\"wp-caption aligncenter\"><img src=\"b.jpg\" alt=\"\" /><figcaption>Old style</figcaption></figure>\n"
        );
        let (c, _) = conv("[caption]<img src=\"b.jpg\" />[/caption]");
        assert_eq!(c.html, "<p><img src=\"b.jpg\" /></p>\n");
    }

    #[test]
    fn gallery_hook_with_ids() {
        let (c, rec) = conv(
            "Look:\n\n[gallery columns=\"3\" ids=\"3,4, 5\" link=\"file\"]\n\nNice.\n\n[gallery]",
        );
        assert_eq!(rec.galleries, vec![vec![3, 4, 5], vec![]]);
        assert_eq!(
            c.html,
            "<p>Look:</p>\n\n[[album:g1]]\n\n<p>Nice.</p>\n\n[[album:g2]]\n"
        );
        // Declined: dropped silently.
        let mut rec = Rec {
            decline_galleries: true,
            ..Rec::default()
        };
        let c = convert("a\n\n[gallery ids=\"1\"]\n\nb", &mut rec);
        assert_eq!(c.html, "<p>a</p>\n\n<p>b</p>\n");
    }

    #[test]
    fn gallery_in_mid_sentence_becomes_its_own_block() {
        let (c, _) = conv("Before [gallery ids=\"1\"] after");
        assert_eq!(c.html, "<p>Before</p>\n\n[[album:g1]]\n\n<p>after</p>\n");
    }

    #[test]
    fn video_forms() {
        let src = "[embed]https://www.youtube.com/watch?v=AAAAAAAAAAA[/embed]\n\n\
                   [embed width=\"640\"]https://vimeo.com/123456[/embed]\n\n\
                   [video width=\"640\" src=\"https://example.com/a.mp4\"][/video]\n\n\
                   [video mp4=\"https://example.com/b.mp4\" poster=\"p.jpg\"]\n\n\
                   [video webm=\"https://example.com/c.webm\"]\n\n\
                   [youtube https://www.youtube.com/watch?v=BBBBBBBBBBB&amp;w=640]\n\n\
                   [youtube=https://youtu.be/CCCCCCCCCCC?t=30]\n\n\
                   [youtube id=\"DDDDDDDDDDD\"]\n\n\
                   [youtube https://www.youtube.com/shorts/EEEEEEEEEEE]";
        let (c, rec) = conv(src);
        assert_eq!(
            rec.videos,
            vec![
                "https://www.youtube.com/watch?v=AAAAAAAAAAA",
                "https://vimeo.com/123456",
                "https://example.com/a.mp4",
                "https://example.com/b.mp4",
                "https://example.com/c.webm",
                "https://www.youtube.com/watch?v=BBBBBBBBBBB",
                "https://www.youtube.com/watch?v=CCCCCCCCCCC",
                "https://www.youtube.com/watch?v=DDDDDDDDDDD",
                "https://www.youtube.com/watch?v=EEEEEEEEEEE",
            ]
        );
        let expected: Vec<String> = (1..=9).map(|n| format!("[[video:v{n}]]")).collect();
        assert_eq!(c.html, format!("{}\n", expected.join("\n\n")));
        assert!(c.unknown_shortcodes.is_empty());
    }

    #[test]
    fn declined_video_is_a_link() {
        let mut rec = Rec {
            decline_videos: true,
            ..Rec::default()
        };
        let c = convert(
            "Intro\nhttps://youtu.be/abcdefghijk?si=x&amp;t=1\nOutro",
            &mut rec,
        );
        check_layout(&c.html);
        assert_eq!(rec.videos, vec!["https://youtu.be/abcdefghijk?si=x&t=1"]);
        assert_eq!(
            c.html,
            "<p>Intro</p>\n\n<p><a href=\"https://youtu.be/abcdefghijk?si=x&amp;t=1\">https://youtu.be/abcdefghijk?si=x&amp;t=1</a></p>\n\n<p>Outro</p>\n"
        );
    }

    #[test]
    fn non_video_embed_is_a_link_without_hook() {
        let (c, rec) = conv("[embed]https://twitter.com/x/status/1[/embed]");
        assert!(rec.videos.is_empty());
        assert_eq!(
            c.html,
            "<p><a href=\"https://twitter.com/x/status/1\">https://twitter.com/x/status/1</a></p>\n"
        );
    }

    #[test]
    fn bare_video_urls_on_their_own_line() {
        let src = "First line\n  https://www.youtube.com/watch?v=abcdefghijk  \n\
                   https://youtu.be/bcdefghijkl\n\nhttps://youtube.com/shorts/cdefghijklm\n\n\
                   https://vimeo.com/76979871\n\n\
                   Watch https://www.youtube.com/watch?v=zzzzzzzzzzz now.\n\n\
                   https://example.com/not-a-video\n\n\
                   <a href=\"https://vimeo.com/1\">https://vimeo.com/1</a>";
        let (c, rec) = conv(src);
        assert_eq!(
            rec.videos,
            vec![
                "https://www.youtube.com/watch?v=abcdefghijk",
                "https://youtu.be/bcdefghijkl",
                "https://youtube.com/shorts/cdefghijklm",
                "https://vimeo.com/76979871",
            ]
        );
        assert_eq!(
            c.html,
            "<p>First line</p>\n\n[[video:v1]]\n\n[[video:v2]]\n\n[[video:v3]]\n\n[[video:v4]]\n\n\
             <p>Watch https://www.youtube.com/watch?v=zzzzzzzzzzz now.</p>\n\n\
             <p>https://example.com/not-a-video</p>\n\n\
             <p><a href=\"https://vimeo.com/1\">https://vimeo.com/1</a></p>\n"
        );
    }

    #[test]
    fn unknown_shortcodes_kept_and_reported_once() {
        let src = "[contact-form-7 id=\"1\" title=\"Contact\"]\n\n\
                   [audio mp3=\"https://x/a.mp3\"][/audio]\n\n\
                   [contact-form-7 id=\"2\"]\n\n[playlist]\n\n[box]inside [gallery ids=\"9\"][/box]";
        let (c, rec) = conv(src);
        assert_eq!(
            c.unknown_shortcodes,
            vec!["contact-form-7", "audio", "playlist", "box"]
        );
        assert!(
            c.html
                .contains("<p>[contact-form-7 id=\"1\" title=\"Contact\"]</p>")
        );
        assert!(
            c.html
                .contains("<p>[audio mp3=\"https://x/a.mp3\"][/audio]</p>")
        );
        assert!(c.html.contains("<p>[playlist]</p>"));
        // Known shortcodes inside an unknown one still work.
        assert_eq!(rec.galleries, vec![vec![9]]);
        assert!(
            c.html
                .contains("<p>[box]inside</p>\n\n[[album:g1]]\n\n<p>[/box]</p>"),
            "{}",
            c.html
        );
    }

    #[test]
    fn escaped_shortcodes() {
        let (c, rec) = conv("Use [[escaped]] or [[gallery ids=\"1\"]] or [[caption]x[/caption]].");
        assert!(rec.galleries.is_empty());
        assert_eq!(
            c.html,
            "<p>Use [escaped] or [gallery ids=\"1\"] or [caption]x[/caption].</p>\n"
        );
        assert!(c.unknown_shortcodes.is_empty());
    }

    #[test]
    fn brackets_that_are_not_shortcodes() {
        let src =
            "He said [sic] it was [1] fine [citation needed]. Array a[i] and [/x] and [ ] and [";
        let (c, _) = conv(src);
        assert_eq!(c.html, format!("<p>{src}</p>\n"));
        assert!(c.unknown_shortcodes.is_empty());
    }

    #[test]
    fn shortcodes_in_pre_and_code_untouched() {
        let src = "<pre>[gallery ids=\"1\"]\n\nhttps://youtu.be/abcdefghijk\n[foo a=\"b\"]</pre>\n\n\
                   Inline <code>[video src=\"https://x/a.mp4\"]</code> here.";
        let (c, rec) = conv(src);
        assert!(rec.galleries.is_empty() && rec.videos.is_empty());
        assert!(c.unknown_shortcodes.is_empty());
        assert!(c.html.contains(
            "<pre>[gallery ids=\"1\"]\n\nhttps://youtu.be/abcdefghijk\n[foo a=\"b\"]</pre>"
        ));
        assert!(
            c.html
                .contains("<p>Inline <code>[video src=\"https://x/a.mp4\"]</code> here.</p>")
        );
    }

    #[test]
    fn multibyte_text() {
        let src = "Caf\u{e9} \u{2013} \u{201c}quoted\u{201d} \u{1F600}\n\n[caption width=\"1\"]<img src=\"\u{e9}.jpg\" /> \u{1F3B5} l\u{e9}gende[/caption]\n\n\u{65e5}\u{672c}[sic]\u{2026}";
        let (c, _) = conv(src);
        assert_eq!(
            c.html,
            "<p>Caf\u{e9} \u{2013} \u{201c}quoted\u{201d} \u{1F600}</p>\n\n\
             <figure class=\"wp-caption alignnone\"><img src=\"\u{e9}.jpg\" /><figcaption>\u{1F3B5} l\u{e9}gende</figcaption></figure>\n\n\
             <p>\u{65e5}\u{672c}[sic]\u{2026}</p>\n"
        );
    }

    #[test]
    fn markers_in_the_source_stay_text() {
        let (c, _) = conv("[[album:not-mine]]");
        assert_eq!(c.html, "<p>[\u{2060}[album:not-mine]]</p>\n");
    }

    // ---- layout -------------------------------------------------------------------------

    #[test]
    fn layout_rules() {
        let src = "    Indented first paragraph with *stars*\n\tand a tab line\n\n\n\n\
                   <div class=\"box\">\n    <p>Inside</p>\n\n\n    <p>Two</p>\n</div>\n\
                   <ul>\n    <li>one</li>\n\n    <li>two</li>\n</ul>\n\
                   <pre>  keep\n\n    this</pre>\n\
                   <div><pre>nested\n\nblank</pre></div>\n\
                   # not a heading\n\n1. not a list";
        let (c, _) = conv(src);
        check_layout(&c.html);
        assert!(c.html.contains("<pre>  keep\n\n    this</pre>"));
        assert!(
            c.html.contains("<pre>nested\n&#10;blank</pre>"),
            "{}",
            c.html
        );
        assert!(!c.html.contains("\n\n\n"));
        let blocks: Vec<&str> = c.html.trim_end().split("\n\n").collect();
        assert!(blocks[0].starts_with("<p>    Indented"), "{blocks:?}");
        assert!(
            blocks[0].contains("<br />\nand a tab line</p>"),
            "{blocks:?}"
        );
        assert!(blocks.iter().any(|b| b.starts_with("<div class=\"box\">")));
        assert!(blocks.iter().any(|b| b.starts_with("<ul>")));
        assert!(blocks.contains(&"<p># not a heading</p>"));
        assert!(blocks.contains(&"<p>1. not a list</p>"));
    }

    #[test]
    fn markdown_renderer_keeps_html_literal() {
        let (c, _) = conv(
            "Some *stars* and _under_ here.\n\n[gallery ids=\"1\"]\n\n    indented *code?*\n\n# Heading?",
        );
        let html = render(&c.html);
        assert!(
            html.contains("<p>Some *stars* and _under_ here.</p>"),
            "{html}"
        );
        assert!(!html.contains("<em>"), "{html}");
        assert!(html.contains("<p>[[album:g1]]</p>"), "{html}");
        assert!(!html.contains("<code>"), "{html}");
        assert!(!html.contains("<h1>"), "{html}");
        assert!(html.contains("<p>    indented *code?*</p>"), "{html}");
    }

    #[test]
    fn markdown_renderer_with_block_content_and_pre() {
        let (c, _) = conv(
            "<!-- wp:paragraph -->\n<p>A *b*</p>\n<!-- /wp:paragraph -->\n\n\
             <!-- wp:code -->\n<pre class=\"wp-block-code\"><code>x = 1\n\n    y *= 2</code></pre>\n<!-- /wp:code -->\n\n\
             <!-- wp:embed {\"url\":\"https://vimeo.com/42\"} -->\n<figure><div>\nhttps://vimeo.com/42\n</div></figure>\n<!-- /wp:embed -->\n\n\
             <!-- wp:list -->\n<ul><li>*one*</li></ul>\n<!-- /wp:list -->",
        );
        let html = render(&c.html);
        assert!(html.contains("<p>A *b*</p>"), "{html}");
        assert!(html.contains("<code>x = 1\n\n    y *= 2</code>"), "{html}");
        assert!(html.contains("<p>[[video:v1]]</p>"), "{html}");
        assert!(html.contains("<li>*one*</li>"), "{html}");
        assert!(!html.contains("<em>"), "{html}");
    }

    // ---- robustness ---------------------------------------------------------------------

    #[test]
    fn never_panics_on_fragments() {
        const BITS: &[&str] = &[
            "<",
            ">",
            "[",
            "]",
            "[[",
            "]]",
            "<pre>",
            "</pre>",
            "<code>",
            "<p>",
            "</p>",
            "<div>",
            "</div>",
            "<li>",
            "<!--",
            "-->",
            "<!-- wp:gallery {\"ids\":[1] -->",
            "<!-- /wp:gallery -->",
            "<!-- wp:embed {\"url\":\"https://youtu.be/x\"} -->",
            "<!-- /wp:embed -->",
            "[caption",
            "[/caption]",
            "[gallery ids=\"1\"]",
            "[embed]",
            "[/embed]",
            "[youtube=",
            "https://youtu.be/abc",
            "\n",
            "\n\n",
            " ",
            "    ",
            "\t",
            "é",
            "😀",
            "–",
            "\u{FDD2}",
            "\u{FDD3}",
            "0",
            "\"",
            "'",
            "=",
            "/",
            "<br>",
            "<hr>",
            "<img ",
            "<script>",
            "</script>",
            "<figure>",
            "<figcaption>",
            "text",
            "*",
            "\r",
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..3000 {
            let mut s = String::new();
            let n = (seed >> 59) as usize + 1;
            for _ in 0..n * 3 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                s.push_str(BITS[(seed % BITS.len() as u64) as usize]);
            }
            let mut rec = Rec::default();
            let c = convert(&s, &mut rec);
            check_layout(&c.html);
            assert!(
                !c.html.contains(|c| matches!(c, '\u{FDD0}'..='\u{FDEF}')),
                "{s:?} → {:?}",
                c.html
            );
            let _ = autop(&s);
            let _ = render(&c.html);
        }
    }

    #[test]
    fn large_adversarial_input_is_fast() {
        let patterns = [
            "[a x=1 ",
            "[gallery ",
            "<div",
            "<p><li",
            "[[",
            "<pre>",
            "<!-- wp:gallery -->",
            "[caption]",
            "<p>\n",
            "<div>",
            "x\n",
        ];
        for p in patterns {
            let s = p.repeat(300_000 / p.len());
            let start = std::time::Instant::now();
            let mut rec = Rec::default();
            let c = convert(&s, &mut rec);
            check_layout(&c.html);
            assert!(
                start.elapsed().as_secs() < 20,
                "{p:?} took {:?}",
                start.elapsed()
            );
        }
    }
}
