//! Verdict bookkeeping shared by the storyboard tests: allow-list judgement, round-trip
//! comparison and a failure digest grouped by cause.

use std::collections::{BTreeMap, BTreeSet};

use adcp_types::ValidationIssue;
use serde_json::Value;

use super::json_eq::differences;

/// A storyboard payload the spec ships although its own schema rejects it.
pub(crate) struct KnownInvalid {
    /// `storyboard path#step id`.
    pub(crate) key: &'static str,
    /// The instance pointer the validator rejects; the entry only holds while it still does.
    pub(crate) pointer: &'static str,
    /// The validator's reason, for the reader.
    pub(crate) reason: &'static str,
}

/// Failures and allow-list use of one test.
#[derive(Default)]
pub(crate) struct Report {
    pub(crate) failures: Vec<String>,
    seen: BTreeSet<&'static str>,
}

/// What the validator and the allow-list make of one payload.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Judged {
    /// Valid: go on and round-trip it.
    Valid,
    /// Invalid exactly as its allow-list entry says.
    AllowListed,
    /// A failure was recorded.
    Failed,
}

impl Report {
    pub(crate) fn fail(&mut self, failure: String) {
        self.failures.push(failure);
    }

    /// Judges a validation verdict against an allow-list.
    pub(crate) fn judge(
        &mut self,
        key: &str,
        verdict: Result<(), Vec<ValidationIssue>>,
        list: &[KnownInvalid],
        what: &str,
    ) -> Judged {
        let known = list.iter().find(|k| k.key == key);
        if let Some(k) = known {
            self.seen.insert(k.key);
        }
        match (verdict, known) {
            (Ok(()), None) => return Judged::Valid,
            (Ok(()), Some(k)) => self.fail(format!(
                "{key}: allow-listed ({}) but the {what} now validates; remove the entry",
                k.reason
            )),
            (Err(issues), Some(k)) if issues.iter().any(|i| i.pointer == k.pointer) => {
                return Judged::AllowListed;
            }
            (Err(issues), Some(k)) => self.fail(format!(
                "{key}: allow-listed at `{}` but now rejected elsewhere: {}",
                k.pointer,
                describe(&issues)
            )),
            (Err(issues), None) => {
                self.fail(format!(
                    "{key}: the {what} fails its schema: {}",
                    describe(&issues)
                ));
            }
        }
        Judged::Failed
    }

    /// Records allow-list entries no checked payload used.
    pub(crate) fn stale_entries(&mut self, list: &[KnownInvalid]) {
        for entry in list.iter().filter(|k| !self.seen.contains(k.key)) {
            self.failures.push(format!(
                "allow-list entry {} names no checked payload; remove it",
                entry.key
            ));
        }
    }

    /// Compares a typed round trip with the wire payload.
    pub(crate) fn round_trip(
        &mut self,
        key: &str,
        what: &str,
        wire: &Value,
        back: Option<Result<Value, serde_json::Error>>,
    ) {
        match back {
            None => self.fail(format!(
                "{key}: no generated {what} type (is `--features full` on?)"
            )),
            Some(Err(error)) => {
                self.fail(format!(
                    "{key}: schema-valid {what} does not parse into the generated type: {error}"
                ));
            }
            Some(Ok(back)) => {
                let diffs = differences(wire, &back);
                if !diffs.is_empty() {
                    self.fail(format!(
                        "{key}: the {what} round trip changed the payload:\n    {}",
                        diffs.join("\n    ")
                    ));
                }
            }
        }
    }

    /// Prints every failure, then panics with the digest if there was any.
    pub(crate) fn finish(&self, what: &str) {
        for failure in &self.failures {
            println!("FAIL {failure}");
        }
        assert!(
            self.failures.is_empty(),
            "{} {what} failures, by cause (details above with --nocapture):\n{}",
            self.failures.len(),
            digest(&self.failures)
        );
    }
}

pub(crate) fn describe(issues: &[ValidationIssue]) -> String {
    let shown: Vec<String> = issues
        .iter()
        .take(4)
        .map(|i| format!("`{}` [{}]: {}", i.pointer, i.keyword, i.message))
        .collect();
    shown.join("; ")
}

/// Failures grouped by cause, most frequent first, so one generator bug reads as one line with
/// its count and a few of the steps it hits. Digits fold to `N`, and the last segment of a lost
/// or added pointer to `*` (`/creatives/N/assets/*: lost`).
fn digest(failures: &[String]) -> String {
    let mut groups: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for failure in failures {
        let (key, detail) = failure.split_once(": ").unwrap_or(("", failure));
        let mut lines: Vec<&str> = detail
            .lines()
            .skip(1)
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        if lines.is_empty() {
            lines.push(detail);
        }
        for line in lines {
            let line = line.split(" (was ").next().unwrap_or(line);
            let folded = match line.split_once(": ") {
                Some((pointer, verb))
                    if pointer.starts_with('/')
                        && (verb.starts_with("lost") || verb.starts_with("added")) =>
                {
                    let parent = pointer
                        .rsplit_once('/')
                        .map_or(pointer, |(parent, _)| parent);
                    format!("{parent}/*: {verb}")
                }
                _ => line.to_owned(),
            };
            let folded: String = folded
                .chars()
                .map(|c| if c.is_ascii_digit() { 'N' } else { c })
                .collect();
            groups.entry(folded).or_default().insert(key);
        }
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by_key(|(_, keys)| std::cmp::Reverse(keys.len()));
    let lines: Vec<String> = groups
        .iter()
        .map(|(cause, keys)| {
            let examples: Vec<&str> = keys.iter().take(2).copied().collect();
            format!("{:>4} x {cause}   e.g. {}", keys.len(), examples.join(", "))
        })
        .collect();
    lines.join("\n")
}
