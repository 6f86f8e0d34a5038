//! Logging, and the live display of a storyboard run.
//!
//! The runner tells an [`adcp_conformance::Observer`] about each storyboard and step as it is
//! graded. [`RunProgress`] is that observer: on a terminal, an `indicatif` spinner with the
//! storyboard and step being graded, the pass/fail/not-applicable counts and the elapsed time;
//! otherwise one plain line per graded storyboard. The results themselves come from the
//! report; the display only mirrors them.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use adcp_conformance::Observer;
use adcp_conformance::report::{AgentProfile, Outcome, StepResult, StoryboardResult};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::output;

/// Installs logging: warnings and errors on standard error (`RUST_LOG` overrides). Safe to
/// call once; later calls do nothing.
pub(crate) fn init_tracing() {
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("warn,rmcp=off,adcp_conformance=error")),
        );
    let _ = tracing_subscriber::registry().with(logs).try_init();
}

/// The counts and the current position of a run.
#[derive(Debug, Default)]
struct Tally {
    total: usize,
    passed: usize,
    failed: usize,
    not_applicable: usize,
    storyboard: String,
    step: String,
}

impl Tally {
    fn graded(&self) -> usize {
        self.passed + self.failed + self.not_applicable
    }

    /// The counts: `3/85 graded: 2 passed, 0 failed, 1 n/a`.
    fn totals(&self) -> String {
        format!(
            "{}/{} graded: {} passed, {} failed, {} n/a",
            self.graded(),
            self.total,
            self.passed,
            self.failed,
            self.not_applicable
        )
    }

    /// The spinner's message.
    fn message(&self) -> String {
        let position = if self.storyboard.is_empty() {
            "discovering the agent".to_owned()
        } else if self.step.is_empty() {
            format!("storyboard {}", self.storyboard)
        } else {
            format!("storyboard {} · step {}", self.storyboard, self.step)
        };
        format!("{} · {position}", self.totals())
    }
}

/// The live display of one run: an [`Observer`] the runner drives. The spinner (on a
/// terminal) is cleared by [`RunProgress::finish`] or when the display is dropped.
#[derive(Debug)]
pub(crate) struct RunProgress {
    bar: Option<ProgressBar>,
    started: Instant,
    tally: Mutex<Tally>,
}

impl RunProgress {
    /// Starts displaying a run of the agent at `url`: a spinner when standard error is a
    /// terminal, else one line now and one per graded storyboard.
    pub(crate) fn start(url: &str) -> Self {
        let bar = output::stderr_is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar.set_message(format!("grading {url}: discovering the agent"));
            bar
        });
        if bar.is_none() {
            output::note(&format!("grading {url}"));
        }
        Self {
            bar,
            started: Instant::now(),
            tally: Mutex::new(Tally::default()),
        }
    }

    /// Clears the spinner.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// Applies `change` to the counts, refreshes the spinner, and returns the new totals.
    fn update(&self, change: impl FnOnce(&mut Tally)) -> String {
        let mut tally = self.tally.lock().unwrap_or_else(PoisonError::into_inner);
        change(&mut tally);
        if let Some(bar) = &self.bar {
            bar.set_message(tally.message());
        }
        tally.totals()
    }
}

impl Drop for RunProgress {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Observer for RunProgress {
    fn run_started(&self, _agent: &AgentProfile, storyboards: usize) {
        self.update(|t| t.total = storyboards);
    }

    fn storyboard_started(&self, id: &str, _title: &str) {
        self.update(|t| {
            id.clone_into(&mut t.storyboard);
            t.step.clear();
        });
    }

    fn step_finished(&self, _storyboard: &str, step: &StepResult) {
        self.update(|t| t.step = format!("{}/{}", step.phase_id, step.step_id));
    }

    fn storyboard_finished(&self, result: &StoryboardResult) {
        let totals = self.update(|t| {
            match result.outcome {
                Outcome::Passed => t.passed += 1,
                Outcome::Failed => t.failed += 1,
                Outcome::NotApplicable => t.not_applicable += 1,
            }
            t.step.clear();
        });
        if self.bar.is_none() {
            let label = match result.outcome {
                Outcome::Passed => "PASS",
                Outcome::Failed => "FAIL",
                Outcome::NotApplicable => "N/A ",
            };
            output::note(&format!(
                "[{:>6.1}s] {label} storyboard {} ({totals})",
                self.started.elapsed().as_secs_f64(),
                result.id
            ));
        }
    }
}
