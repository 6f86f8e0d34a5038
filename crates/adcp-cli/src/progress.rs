//! Logging, and the live display of a storyboard run.
//!
//! The runner (`adcp_conformance::run`) takes no progress callback; it does trace each
//! storyboard it starts (an `info` event, message `running`, field `storyboard`) and each
//! step (an `info` span named `step` with `storyboard`, `phase` and `step`). A tracing layer
//! turns those into the display: on a terminal, an `indicatif` spinner with the storyboard,
//! the step, the counts and the elapsed time; otherwise one plain line per storyboard. If the
//! runner stops tracing them, the display degrades to the elapsed time; the results are
//! unaffected (they come from the report).

use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::{EnvFilter, LevelFilter, Targets};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::output;

/// The run being displayed, if any.
static RUN: Mutex<Option<Display>> = Mutex::new(None);

/// Installs logging (warnings and errors on standard error; `RUST_LOG` overrides) and the
/// progress layer. Safe to call once; later calls do nothing.
pub(crate) fn init_tracing() {
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("warn,rmcp=off,adcp_conformance=error")),
        );
    let progress =
        RunLayer.with_filter(Targets::new().with_target("adcp_conformance", LevelFilter::INFO));
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with(progress)
        .try_init();
}

/// What the display shows.
#[derive(Debug)]
struct Display {
    bar: Option<ProgressBar>,
    started: Instant,
    storyboards: usize,
    steps: usize,
    storyboard: String,
}

impl Display {
    fn message(&self) -> String {
        if self.storyboard.is_empty() {
            return "discovering the agent".to_owned();
        }
        format!(
            "storyboard {} ({} started) · {} steps run",
            self.storyboard, self.storyboards, self.steps
        )
    }
}

/// A live display for one run; the display ends when this is dropped.
#[derive(Debug)]
pub(crate) struct RunProgress;

impl RunProgress {
    /// Starts displaying a run of the agent at `url`: a spinner when standard error is a
    /// terminal, else one line now and one per storyboard.
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
        *RUN.lock().unwrap_or_else(PoisonError::into_inner) = Some(Display {
            bar,
            started: Instant::now(),
            storyboards: 0,
            steps: 0,
            storyboard: String::new(),
        });
        Self
    }
}

impl Drop for RunProgress {
    fn drop(&mut self) {
        take_display();
    }
}

fn take_display() {
    let display = RUN.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let Some(bar) = display.and_then(|d| d.bar) {
        bar.finish_and_clear();
    }
}

/// Collects the string form of the fields the layer reads.
#[derive(Debug, Default)]
struct Fields {
    message: String,
    storyboard: String,
    phase: String,
    step: String,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let slot = match field.name() {
            "message" => &mut self.message,
            "storyboard" => &mut self.storyboard,
            "phase" => &mut self.phase,
            "step" => &mut self.step,
            _ => return,
        };
        slot.clear();
        let _ = write!(slot, "{value:?}");
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let slot = match field.name() {
            "message" => &mut self.message,
            "storyboard" => &mut self.storyboard,
            "phase" => &mut self.phase,
            "step" => &mut self.step,
            _ => return,
        };
        value.clone_into(slot);
    }
}

/// The layer that feeds the display.
struct RunLayer;

impl<S: Subscriber> Layer<S> for RunLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        if fields.message != "running" || fields.storyboard.is_empty() {
            return;
        }
        let mut run = RUN.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(display) = run.as_mut() else {
            return;
        };
        display.storyboards += 1;
        display.storyboard = fields.storyboard;
        match &display.bar {
            Some(bar) => bar.set_message(display.message()),
            None => output::note(&format!(
                "[{:>6.1}s] storyboard {}",
                display.started.elapsed().as_secs_f64(),
                display.storyboard
            )),
        }
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
        if attrs.metadata().name() != "step" {
            return;
        }
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let mut run = RUN.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(display) = run.as_mut() else {
            return;
        };
        display.steps += 1;
        if let Some(bar) = &display.bar {
            bar.set_message(format!(
                "{} · step {}/{}",
                display.message(),
                fields.phase,
                fields.step
            ));
        }
    }
}
