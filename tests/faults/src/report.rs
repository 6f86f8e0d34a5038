//! Counting webhooks against tasks, and the suite's table and JSON report.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Serialize;

use crate::receiver::Delivery;

/// Webhooks counted against the tasks that should have produced them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Tally {
    /// Tasks the scenario submitted.
    pub(crate) tasks: usize,
    /// Terminal webhooks expected (one per task).
    pub(crate) expected: usize,
    /// Tasks whose terminal webhook a receiver acknowledged at least once.
    pub(crate) delivered: usize,
    /// Tasks with no acknowledged terminal webhook.
    pub(crate) lost: usize,
    /// Acknowledged deliveries beyond the first of the same `idempotency_key`
    /// (at-least-once re-sends).
    pub(crate) duplicated: usize,
    /// Acknowledged webhooks for a task beyond its first `idempotency_key` (a task reported
    /// twice: never allowed).
    pub(crate) second_keys: usize,
}

/// Counts `deliveries` (from every receiver) against `task_ids`.
pub(crate) fn tally(task_ids: &[String], deliveries: &[Delivery]) -> Tally {
    let wanted: BTreeSet<&str> = task_ids.iter().map(String::as_str).collect();
    let mut acks_per_key: BTreeMap<&str, usize> = BTreeMap::new();
    let mut keys_per_task: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for delivery in deliveries.iter().filter(|d| d.acknowledged()) {
        if !wanted.contains(delivery.task_id.as_str()) || !is_terminal_event(&delivery.status) {
            continue;
        }
        *acks_per_key
            .entry(delivery.idempotency_key.as_str())
            .or_default() += 1;
        keys_per_task
            .entry(delivery.task_id.as_str())
            .or_default()
            .insert(delivery.idempotency_key.as_str());
    }
    let delivered = keys_per_task.len();
    Tally {
        tasks: task_ids.len(),
        expected: wanted.len(),
        delivered,
        lost: wanted.len().saturating_sub(delivered),
        duplicated: acks_per_key.values().map(|n| n - 1).sum(),
        second_keys: keys_per_task.values().map(|keys| keys.len() - 1).sum(),
    }
}

/// Whether every task has an acknowledged terminal webhook.
pub(crate) fn all_delivered(task_ids: &[String], deliveries: &[Delivery]) -> bool {
    tally(task_ids, deliveries).lost == 0
}

fn is_terminal_event(status: &str) -> bool {
    matches!(status, "completed" | "failed" | "canceled" | "rejected")
}

/// One scenario's outcome.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ScenarioResult {
    /// Its number and name.
    pub(crate) scenario: String,
    /// The webhook counts (all zero for scenarios without tasks).
    #[serde(flatten)]
    pub(crate) tally: Tally,
    /// Whether re-sends of the same key are allowed here (after a kill -9).
    pub(crate) duplicates_allowed: bool,
    /// The scenario's time bound, in seconds.
    pub(crate) bound_secs: f64,
    /// How long it took, in seconds.
    pub(crate) elapsed_secs: f64,
    /// `true` when it passed.
    pub(crate) passed: bool,
    /// Why it failed (empty when it passed).
    pub(crate) failures: Vec<String>,
    /// What it measured besides the counts.
    pub(crate) notes: Vec<String>,
}

/// Collects a scenario's findings as it runs.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    /// The webhook counts.
    pub(crate) tally: Tally,
    /// Failures found.
    pub(crate) failures: Vec<String>,
    /// Measurements.
    pub(crate) notes: Vec<String>,
    /// Whether duplicates of a key are allowed.
    pub(crate) duplicates_allowed: bool,
}

impl Findings {
    /// Findings where re-sends of a key fail the scenario unless `duplicates_allowed`.
    pub(crate) fn new(duplicates_allowed: bool) -> Self {
        Self {
            duplicates_allowed,
            ..Self::default()
        }
    }

    /// Records a failure.
    pub(crate) fn fail(&mut self, why: impl Into<String>) {
        self.failures.push(why.into());
    }

    /// Records a measurement.
    pub(crate) fn note(&mut self, what: impl Into<String>) {
        self.notes.push(what.into());
    }

    /// Records `condition`'s failure when it does not hold.
    pub(crate) fn check(&mut self, condition: bool, why: impl Into<String>) {
        if !condition {
            self.fail(why);
        }
    }

    /// Sets the counts and judges them: any loss fails, a task reported under two keys fails,
    /// duplicates fail unless allowed.
    pub(crate) fn count(&mut self, tally: Tally) {
        self.tally = tally;
        if tally.lost > 0 {
            self.fail(format!(
                "{} of {} webhooks lost",
                tally.lost, tally.expected
            ));
        }
        if tally.second_keys > 0 {
            self.fail(format!(
                "{} tasks were reported by more than one webhook (different keys)",
                tally.second_keys
            ));
        }
        if tally.duplicated > 0 && !self.duplicates_allowed {
            self.fail(format!(
                "{} duplicate deliveries (same idempotency_key) where exactly once is required",
                tally.duplicated
            ));
        }
    }

    /// The finished result.
    pub(crate) fn finish(
        self,
        scenario: &str,
        bound: Duration,
        elapsed: Duration,
    ) -> ScenarioResult {
        ScenarioResult {
            scenario: scenario.to_owned(),
            tally: self.tally,
            duplicates_allowed: self.duplicates_allowed,
            bound_secs: bound.as_secs_f64(),
            elapsed_secs: elapsed.as_secs_f64(),
            passed: self.failures.is_empty(),
            failures: self.failures,
            notes: self.notes,
        }
    }
}

/// Prints the results as a table, then each scenario's notes and failures.
pub(crate) fn print_table(results: &[ScenarioResult]) {
    let width = results
        .iter()
        .map(|r| r.scenario.len())
        .max()
        .unwrap_or(8)
        .max(8);
    println!();
    println!(
        "{:<width$}  {:>5}  {:>8}  {:>9}  {:>4}  {:>10}  {:>7}  {:>7}  verdict",
        "scenario", "tasks", "expected", "delivered", "lost", "duplicated", "bound", "took"
    );
    println!("{}", "-".repeat(width + 78));
    for r in results {
        let t = r.tally;
        let duplicated = if t.duplicated > 0 && r.duplicates_allowed {
            format!("{} (ok)", t.duplicated)
        } else {
            t.duplicated.to_string()
        };
        println!(
            "{:<width$}  {:>5}  {:>8}  {:>9}  {:>4}  {:>10}  {:>6.0}s  {:>6.1}s  {}",
            r.scenario,
            t.tasks,
            t.expected,
            t.delivered,
            t.lost,
            duplicated,
            r.bound_secs,
            r.elapsed_secs,
            if r.passed { "PASS" } else { "FAIL" }
        );
    }
    println!();
    for r in results {
        for note in &r.notes {
            println!("  {}: {note}", r.scenario);
        }
        for failure in &r.failures {
            println!("  {}: FAILED: {failure}", r.scenario);
        }
    }
    let failed = results.iter().filter(|r| !r.passed).count();
    println!();
    println!("faults: {} passed, {failed} failed", results.len() - failed);
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;

    fn delivery(key: &str, task: &str, answered: Option<u16>) -> Delivery {
        Delivery {
            idempotency_key: key.to_owned(),
            task_id: task.to_owned(),
            status: "completed".to_owned(),
            arrived: SystemTime::now(),
            answered,
        }
    }

    #[test]
    fn a_resend_of_the_same_key_is_a_duplicate_and_an_unacknowledged_attempt_is_not_delivered() {
        let tasks = vec!["t1".to_owned(), "t2".to_owned(), "t3".to_owned()];
        let seen = [
            delivery("k1", "t1", Some(200)),
            delivery("k1", "t1", Some(200)),
            delivery("k2", "t2", Some(503)),
            delivery("k2", "t2", None),
            delivery("k3", "t3", Some(204)),
            delivery("k9", "other", Some(200)),
        ];
        let tally = tally(&tasks, &seen);
        assert_eq!(
            (
                tally.expected,
                tally.delivered,
                tally.lost,
                tally.duplicated
            ),
            (3, 2, 1, 1)
        );
        assert_eq!(tally.second_keys, 0);
    }

    #[test]
    fn a_task_reported_under_two_keys_fails_even_where_duplicates_are_allowed() {
        let tasks = vec!["t1".to_owned()];
        let seen = [
            delivery("k1", "t1", Some(200)),
            delivery("k2", "t1", Some(200)),
        ];
        let mut findings = Findings::new(true);
        findings.count(tally(&tasks, &seen));
        assert_eq!(findings.tally.second_keys, 1);
        assert_eq!(findings.failures.len(), 1);
    }
}
