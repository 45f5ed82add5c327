//! What an import did, per kind of item: imported, already there from an earlier run, skipped
//! (with why, counted) and failed (each named with its reason). Importers share it, and the
//! command line and the admin print it the same way.

use std::collections::BTreeMap;

/// Counts for one kind of item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub imported: u64,
    /// Imported by an earlier run (a resumed or repeated import).
    pub already: u64,
    /// Left out on purpose, by reason (`trash`, `revision`, …).
    pub skipped: BTreeMap<String, u64>,
    pub failed: u64,
}

/// The whole report.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Kind (`posts`, `pages`, `attachments`, …) → counts, in a stable order.
    pub kinds: BTreeMap<&'static str, Counts>,
    /// Items that could not be imported: what, and why.
    pub failures: Vec<(String, String)>,
    /// Things worth knowing that are not failures (unknown shortcodes kept as text, comments
    /// not imported, …).
    pub notes: Vec<String>,
    /// A dry run: nothing was written.
    pub dry_run: bool,
}

impl Report {
    pub fn counts(&mut self, kind: &'static str) -> &mut Counts {
        self.kinds.entry(kind).or_default()
    }

    pub fn imported(&mut self, kind: &'static str) {
        self.counts(kind).imported += 1;
    }

    pub fn already(&mut self, kind: &'static str) {
        self.counts(kind).already += 1;
    }

    pub fn skipped(&mut self, kind: &'static str, why: &str) {
        *self
            .counts(kind)
            .skipped
            .entry(why.to_string())
            .or_default() += 1;
    }

    pub fn failed(&mut self, kind: &'static str, what: impl Into<String>, why: impl Into<String>) {
        self.counts(kind).failed += 1;
        self.failures.push((what.into(), why.into()));
    }

    /// The kinds in the order a reader wants them: content first, leftovers last.
    fn ordered(&self) -> Vec<(&'static str, &Counts)> {
        const ORDER: &[&str] = &[
            "posts",
            "pages",
            "attachments",
            "pictures",
            "photos",
            "albums",
            "gallery categories",
            "categories",
            "tags",
            "authors",
            "users",
        ];
        let rank = |k: &str| ORDER.iter().position(|o| *o == k).unwrap_or(ORDER.len());
        let mut kinds: Vec<(&'static str, &Counts)> =
            self.kinds.iter().map(|(k, c)| (*k, c)).collect();
        kinds.sort_by_key(|(k, _)| (rank(k), *k));
        kinds
    }

    /// The report as lines: one per kind, then the notes.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (kind, c) in self.ordered() {
            let mut parts = vec![format!(
                "{} {}",
                c.imported,
                if self.dry_run {
                    "to import"
                } else {
                    "imported"
                }
            )];
            if c.already > 0 {
                parts.push(format!("{} already there", c.already));
            }
            let skipped: u64 = c.skipped.values().sum();
            if skipped > 0 {
                let why: Vec<String> = c.skipped.iter().map(|(w, n)| format!("{w} {n}")).collect();
                parts.push(format!("{skipped} skipped ({})", why.join(", ")));
            }
            if c.failed > 0 {
                parts.push(format!("{} failed", c.failed));
            }
            out.push(format!("{kind}: {}", parts.join(", ")));
        }
        out.extend(self.notes.iter().cloned());
        out
    }

    /// One line for a list: what was imported per kind, and how many were already there,
    /// skipped and failed in all.
    pub fn summary(&self) -> String {
        let verb = if self.dry_run {
            "to import"
        } else {
            "imported"
        };
        let mut parts: Vec<String> = self
            .ordered()
            .into_iter()
            .filter(|(_, c)| c.imported > 0)
            .map(|(k, c)| format!("{} {k}", c.imported))
            .collect();
        if parts.is_empty() {
            parts.push("nothing".into());
        }
        let mut line = format!("{} {verb}", parts.join(", "));
        let already: u64 = self.kinds.values().map(|c| c.already).sum();
        let skipped: u64 = self.kinds.values().flat_map(|c| c.skipped.values()).sum();
        let failed: u64 = self.kinds.values().map(|c| c.failed).sum();
        for (n, what) in [
            (already, "already there"),
            (skipped, "skipped"),
            (failed, "failed"),
        ] {
            if n > 0 {
                line.push_str(&format!("; {n} {what}"));
            }
        }
        line
    }

    /// Exit status of the command: 0 when everything was imported, 3 when some items failed.
    pub fn exit_code(&self) -> u8 {
        if self.failures.is_empty() { 0 } else { 3 }
    }
}

/// `1 post`, `2 posts`: a count with its noun in the right number.
pub fn count(n: u64, one: &str, many: &str) -> String {
    crate::units::counted(i64::try_from(n).unwrap_or(i64::MAX), one, many)
}
