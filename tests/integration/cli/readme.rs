//! The README's JSON API example, run line by line as written against a demo site: the token
//! command through the release binary, the `curl` lines through the shell, only the address and
//! the printed token put in.

use super::{Site, db_url};
use crate::common::Backend;

/// The README's `sh` block under "## JSON API", as commands: continued lines, and lines
/// inside a quoted argument, joined.
fn api_example() -> Vec<String> {
    let readme = include_str!("../../../README.md");
    let section = readme
        .split("## JSON API")
        .nth(1)
        .expect("the README has a JSON API section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("an sh block");
    let mut lines = Vec::new();
    let mut current = String::new();
    for line in block.lines() {
        let line = line.split("   # ").next().unwrap_or(line);
        match line.strip_suffix('\\') {
            Some(head) => current.push_str(head),
            None => {
                current.push_str(line);
                // A quoted argument may go on over lines (the JSON body does).
                if current.matches('\'').count() % 2 == 1 {
                    current.push('\n');
                } else {
                    lines.push(std::mem::take(&mut current));
                }
            }
        }
    }
    lines.into_iter().filter(|l| !l.trim().is_empty()).collect()
}

/// Splits a command line the way the shell would for the plain quoting the README uses.
fn words(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quote) = (Vec::new(), String::new(), None::<char>);
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => quote = Some(c),
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

async fn the_readmes_api_example_works_on_the_demo(backend: Backend) {
    let lines = api_example();
    assert_eq!(lines.len(), 3, "{lines:?}");
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, _pg) = db_url(backend, dir.path());
    let mut site = Site::new(dir.path().join("site"), url);
    site.serve(true);
    // `cargo run --release -- token create …`: the same command as the binary it builds.
    let token_line = words(&lines[0]);
    let args: Vec<&str> = token_line
        .iter()
        .skip_while(|w| *w != "--")
        .skip(1)
        .map(String::as_str)
        .collect();
    assert_eq!(args.first(), Some(&"token"), "{token_line:?}");
    let out = site.cms(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let token = printed
        .split_whitespace()
        .find(|w| w.starts_with("ks_"))
        .expect("a token printed")
        .to_string();
    let sh = |line: &str| {
        let line = line
            .replace("localhost:8080", &site.addr)
            .replace("ks_…", &token);
        let out = std::process::Command::new("bash")
            .args(["-c", &line])
            .output()
            .expect("bash");
        assert!(
            out.status.success(),
            "{line}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .unwrap_or_else(|e| panic!("{line}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
    };
    let list = sh(&lines[1]);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(5), "{list}");
    let created = sh(&lines[2]);
    assert_eq!(created["title"], "Season 3 news", "{created}");
    assert_eq!(created["status"], "published", "{created}");
    assert_eq!(created["categories"][0]["slug"], "projects", "{created}");
    // It is on the site for readers at once.
    let (status, body) = super::http_get(&site.addr, "/posts/season-3-news");
    assert_eq!(status, 200);
    assert!(body.contains("Filming has <em>started</em>."), "{body}");
    // The change feed's example: the demo's first two changes, more waiting, the post just
    // published among the last.
    let feed_line = readme_block("### Change feed");
    let first = sh(feed_line.trim());
    assert_eq!(first["items"].as_array().map(Vec::len), Some(2), "{first}");
    assert_eq!(first["has_more"], true, "{first}");
    assert_eq!(
        first["next_cursor"],
        first["items"][1]["id"].to_string(),
        "{first}"
    );
    let latest = sh(&format!(
        "curl -s 'localhost:8080/api/v1/changes?after={}&limit=200'",
        first["next_cursor"].as_str().unwrap_or("0")
    ));
    let last = latest["items"]
        .as_array()
        .and_then(|a| a.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["type"], "post.published", "{latest}");
    assert_eq!(last["data"]["title"], "Season 3 news", "{latest}");
}

/// The first `sh` block after `heading` in the README.
fn readme_block(heading: &str) -> String {
    include_str!("../../../README.md")
        .split(heading)
        .nth(1)
        .and_then(|s| s.split("```sh\n").nth(1))
        .and_then(|b| b.split("```").next())
        .unwrap_or_else(|| panic!("no sh block under {heading}"))
        .to_string()
}

crate::backend_tests!(the_readmes_api_example_works_on_the_demo);
