//! Marking a PostgreSQL search's matches in the app. `ts_headline` re-parses each result's
//! text with the full text-search parser and dictionaries and was most of a search's database
//! time; here the text is split into words once, and only words that could match are stemmed,
//! with the Snowball English stemmer PostgreSQL's `english` configuration uses, so "captures"
//! is marked for a search of "capture" as it was. The query's own lexemes come from PostgreSQL
//! (`tsquery::text`: stemmed, stop words left out), so what is marked is what matched.

use std::ops::Range;
use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};

use super::{MARK_END, MARK_START};

/// Words in a snippet, as `ts_headline`'s `MaxWords` was.
pub const SNIPPET_WORDS: usize = 30;
/// Separate places of a long text a snippet shows at most.
pub const SNIPPET_FRAGMENTS: usize = 2;

/// At most this many punctuation characters next to a snippet's first or last word are kept
/// with it.
const EDGE_PUNCTUATION: usize = 4;

/// One lexeme of a query: matched whole, or as a prefix (`'heartstopp':*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lexeme {
    pub text: String,
    pub prefix: bool,
}

/// The lexemes of a `tsquery` in its text form, e.g. `'kit' & 'heartstopp':*` (quotes in a
/// lexeme are doubled; weights after the colon are ignored).
pub fn lexemes_of(tsquery: &str) -> Vec<Lexeme> {
    let mut out = Vec::new();
    let mut chars = tsquery.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut text = String::new();
        while let Some(ch) = chars.next() {
            match ch {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    text.push('\'');
                }
                '\'' => break,
                '\\' => {
                    if let Some(n) = chars.next() {
                        text.push(n);
                    }
                }
                ch => text.push(ch),
            }
        }
        let mut prefix = false;
        if chars.peek() == Some(&':') {
            chars.next();
            while let Some(&f) = chars.peek() {
                if f == '*' {
                    prefix = true;
                } else if !matches!(f, 'A'..='D' | 'a'..='d') {
                    break;
                }
                chars.next();
            }
        }
        if !text.is_empty() {
            out.push(Lexeme { text, prefix });
        }
    }
    out
}

fn stemmer() -> &'static Stemmer {
    static S: OnceLock<Stemmer> = OnceLock::new();
    S.get_or_init(|| Stemmer::create(Algorithm::English))
}

/// A word of a text: its bytes and whether it matches the query.
#[derive(Debug, Clone)]
struct Word {
    at: Range<usize>,
    matched: bool,
}

/// Whether the word `w` (as written) matches one of `lexemes`, as PostgreSQL's `english`
/// configuration would judge it: lowercased; stemmed when it is all letters.
fn matches(w: &str, lexemes: &[Lexeme]) -> bool {
    let lower = w.to_lowercase();
    let Some(first) = lower.chars().next() else {
        return false;
    };
    // A stemmer only changes a word's ending: a word can only match a lexeme beginning as it does.
    if !lexemes.iter().any(|l| l.text.starts_with(first)) {
        return false;
    }
    let key = if lower.chars().all(char::is_alphabetic) {
        stemmer().stem(&lower).into_owned()
    } else {
        lower
    };
    lexemes.iter().any(|l| {
        if l.prefix {
            key.starts_with(&l.text)
        } else {
            key == l.text
        }
    })
}

/// The words of `text` (runs of letters and digits), each judged by `is_match`.
fn words(text: &str, is_match: impl Fn(&str) -> bool) -> Vec<Word> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(Word {
                    at: s..i,
                    matched: is_match(&text[s..i]),
                });
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// `text[range]` with the matched words between the markers (marker characters already in
/// the text are dropped).
fn marked(text: &str, range: Range<usize>, words: &[Word], out: &mut String) {
    let mut at = range.start;
    let clean = |s: &str, out: &mut String| {
        out.extend(s.chars().filter(|c| *c != MARK_START && *c != MARK_END));
    };
    for w in words
        .iter()
        .filter(|w| w.matched && w.at.start >= range.start && w.at.end <= range.end)
    {
        clean(&text[at..w.at.start], out);
        out.push(MARK_START);
        clean(&text[w.at.clone()], out);
        out.push(MARK_END);
        at = w.at.end;
    }
    clean(&text[at..range.end], out);
}

/// The whole of `text` with every matching word marked (a result's title).
pub fn mark_all(text: &str, lexemes: &[Lexeme]) -> String {
    mark_words(text, |w| matches(w, lexemes))
}

/// The whole of `text` with every word `is_match` accepts marked, marker characters already
/// in it dropped.
pub fn mark_words(text: &str, is_match: impl Fn(&str) -> bool) -> String {
    let ws = words(text, is_match);
    let mut out = String::with_capacity(text.len() + 8);
    marked(text, 0..text.len(), &ws, &mut out);
    out
}

/// Up to [`SNIPPET_WORDS`] words of `text` around its matches, in up to
/// [`SNIPPET_FRAGMENTS`] places joined by " … ", matches marked; the start of the text when
/// nothing in it matches (the match was in the title). "…" shows where text was left out.
pub fn snippet(text: &str, lexemes: &[Lexeme]) -> String {
    let ws = words(text, |w| matches(w, lexemes));
    if ws.is_empty() {
        return String::new();
    }
    let hits: Vec<usize> = (0..ws.len()).filter(|i| ws[*i].matched).collect();
    // Each place's first match, the next taken only past the previous place's words.
    let mut places: Vec<usize> = Vec::new();
    let per_one = SNIPPET_WORDS / SNIPPET_FRAGMENTS;
    for &h in &hits {
        if places.len() == SNIPPET_FRAGMENTS {
            break;
        }
        if places.last().is_none_or(|p| h >= p + per_one) {
            places.push(h);
        }
    }
    let windows: Vec<Range<usize>> = match places.as_slice() {
        [] => {
            let start = 0..ws.len().min(SNIPPET_WORDS);
            vec![start]
        }
        [one] => {
            // A few words of context before the match, the rest after it.
            let start = one.saturating_sub(SNIPPET_WORDS / 5);
            let end = (start + SNIPPET_WORDS).min(ws.len());
            let around = end.saturating_sub(SNIPPET_WORDS)..end;
            vec![around]
        }
        many => {
            let per = SNIPPET_WORDS / many.len();
            let mut out: Vec<Range<usize>> = Vec::new();
            for &p in many {
                let mut start = p.saturating_sub(per / 5);
                if let Some(prev) = out.last() {
                    start = start.max(prev.end);
                }
                out.push(start..(start + per).min(ws.len()));
            }
            out
        }
    };
    // A place takes in the punctuation touching its first and last word (a quote, a full
    // stop, a bracket): a few characters, up to a space or a letter or digit — never a run of
    // text without spaces (a long link; Chinese or Thai, written without them).
    let is_punct = |c: &char| !c.is_whitespace() && !c.is_alphanumeric();
    let back_to_space = |at: usize| {
        text[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_punct(c))
            .take(EDGE_PUNCTUATION)
            .last()
            .map_or(at, |(i, _)| i)
    };
    let on_to_space = |at: usize| {
        at + text[at..]
            .chars()
            .take_while(is_punct)
            .take(EDGE_PUNCTUATION)
            .map(char::len_utf8)
            .sum::<usize>()
    };
    let mut out = String::new();
    let mut last_end = 0;
    // Where the text shown so far ends.
    let mut shown_to = 0;
    for (i, w) in windows.iter().enumerate() {
        if w.is_empty() {
            continue;
        }
        let end = on_to_space(ws[w.end - 1].at.end).max(shown_to);
        if i > 0 && w.start == last_end {
            // Adjacent places read on without a break.
            marked(text, shown_to..end, &ws, &mut out);
        } else {
            if w.start > 0 {
                out.push_str(if out.is_empty() { "… " } else { " … " });
            }
            let start = back_to_space(ws[w.start].at.start).max(shown_to);
            marked(text, start..end, &ws, &mut out);
        }
        shown_to = end;
        last_end = w.end;
    }
    if last_end < ws.len() && text[shown_to..].chars().any(char::is_alphanumeric) {
        out.push_str(" …");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(text: &str, prefix: bool) -> Lexeme {
        Lexeme {
            text: text.into(),
            prefix,
        }
    }

    fn shown(s: &str) -> String {
        s.replace(MARK_START, "[").replace(MARK_END, "]")
    }

    #[test]
    fn a_tsquery_gives_its_lexemes() {
        assert_eq!(
            lexemes_of("'kit' & 'heartstopp':*"),
            [l("kit", false), l("heartstopp", true)]
        );
        assert_eq!(lexemes_of("'o''brien':*AB"), [l("o'brien", true)]);
        assert_eq!(
            lexemes_of("!'a' | ( 'b':A )"),
            [l("a", false), l("b", false)]
        );
        assert!(lexemes_of("").is_empty());
    }

    #[test]
    fn stemmed_words_are_marked_as_postgres_matches_them() {
        // to_tsquery('english', 'capture') is 'captur'; 'heartstopper:*' is 'heartstopp':*.
        let q = [l("captur", false), l("heartstopp", true)];
        assert_eq!(
            shown(&mark_all("Episode Captures from Heartstopper's finale", &q)),
            "Episode [Captures] from [Heartstopper]'s finale"
        );
        // Numbers and codes are lowercased, not stemmed.
        assert_eq!(
            shown(&mark_all("S02E01 – Out", &[l("s02e01", false)])),
            "[S02E01] – Out"
        );
        assert_eq!(shown(&mark_all("Capt. Kit", &q)), "Capt. Kit");
        // Marker characters in the text are not taken for marks.
        assert_eq!(shown(&mark_all("a\u{2}b capture", &q)), "ab [capture]");
    }

    #[test]
    fn a_snippet_shows_the_matches_in_up_to_two_places() {
        let q = [l("kit", false)];
        let text = (0..200)
            .map(|i| match i {
                50 | 150 => "Kit".to_string(),
                i => format!("w{i}"),
            })
            .collect::<Vec<_>>()
            .join(" ");
        let s = shown(&snippet(&text, &q));
        assert_eq!(s.matches("[Kit]").count(), 2, "{s}");
        assert!(s.starts_with("… ") && s.ends_with(" …"), "{s}");
        assert_eq!(s.matches(" … ").count(), 1, "{s}");
        assert_eq!(
            s.split_whitespace().filter(|w| *w != "…").count(),
            SNIPPET_WORDS
        );
        // One place: context before, the rest after.
        let s = shown(&snippet("one two three Kit four five", &q));
        assert_eq!(s, "one two three [Kit] four five");
        // No match in the text (it was in the title): its start.
        let long = (0..100)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let s = snippet(&long, &q);
        assert!(s.starts_with("w0 w1") && s.ends_with(" …"), "{s}");
        assert_eq!(snippet("", &q), "");
        // Two matches close together read as one place.
        let s = shown(&snippet("a Kit b Kit c", &q));
        assert_eq!(s, "a [Kit] b [Kit] c");
    }

    #[test]
    fn punctuation_touching_a_snippets_first_and_last_word_is_kept() {
        let q = [l("kit", false)];
        let s = shown(&snippet("\"Kit's back,\" she said (at last).", &q));
        assert_eq!(s, "\"[Kit]'s back,\" she said (at last).");
        // Cut at both ends: the words cut at keep their own punctuation, nothing beyond.
        let text = (0..100)
            .map(|i| match i {
                50 => "\"Kit!\"".to_string(),
                i => format!("(w{i}),"),
            })
            .collect::<Vec<_>>()
            .join(" ");
        let s = shown(&snippet(&text, &q));
        assert!(s.starts_with("… (w44), "), "{s}");
        assert!(s.contains(" \"[Kit]!\" "), "{s}");
        assert!(s.ends_with("(w73), …"), "{s}");
        // Two places: each keeps its punctuation; a word split by an apostrophe is not shown
        // twice where two places meet.
        let text = (0..200)
            .map(|i| match i {
                50 => "Kit's.".to_string(),
                150 => "[Kit]".to_string(),
                i => format!("w{i}"),
            })
            .collect::<Vec<_>>()
            .join(" ");
        let s = shown(&snippet(&text, &q));
        assert!(s.contains(" [Kit]'s. "), "{s}");
        assert!(s.contains(" [[Kit]] "), "{s}");
        assert_eq!(s.matches("'s").count(), 1, "{s}");
        // Text without spaces (Chinese here) is not taken in whole: the place ends with its
        // last word and the punctuation touching it.
        let words: Vec<String> = (0..100).map(|i| format!("字{i}")).collect();
        let text = format!(
            "{}。Kit。{}",
            words[..50].join("，"),
            words[50..].join("，")
        );
        let s = shown(&snippet(&text, &q));
        assert!(s.chars().count() < 200, "{s}");
        assert!(s.contains("[Kit]"), "{s}");
        assert!(s.starts_with("… ") && s.ends_with(" …"), "{s}");
        // Nor a long run of punctuation: a few characters of it.
        let shouted = format!("Kit{}", "!".repeat(50));
        assert_eq!(shown(&snippet(&shouted, &q)), "[Kit]!!!!");
    }
}
