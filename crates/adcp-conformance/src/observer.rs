//! Watching a run while it goes: the callbacks a live display (the `adcp` command's progress
//! line, an adopter's test log) receives.

use crate::report::{AgentProfile, StepResult, StoryboardResult};

/// Receives a run's progress, in order, from the task driving the run.
///
/// Guarantees: [`Observer::run_started`] comes first, once. Every storyboard the report lists
/// is announced once with [`Observer::storyboard_finished`], carrying exactly the result the
/// report holds; one that runs is announced with [`Observer::storyboard_started`] before it,
/// and each step of its phases with [`Observer::step_finished`] as it is graded (fixture
/// seeding, invariants and a whole-agent regrade appear only in the finished result, which
/// is the one to count). Callbacks run inline on the run's task, so they should be quick;
/// every method has an empty default.
pub trait Observer: Send + Sync {
    /// Agent discovery finished: what the agent advertised, and how many storyboards will be
    /// graded (including those that turn out not to apply).
    fn run_started(&self, agent: &AgentProfile, storyboards: usize) {
        let _ = (agent, storyboards);
    }

    /// A storyboard is about to be graded.
    fn storyboard_started(&self, id: &str, title: &str) {
        let _ = (id, title);
    }

    /// One step of storyboard `storyboard` was graded (passed, failed or skipped).
    fn step_finished(&self, storyboard: &str, step: &StepResult) {
        let _ = (storyboard, step);
    }

    /// A storyboard's grade, as the report will hold it.
    fn storyboard_finished(&self, result: &StoryboardResult) {
        let _ = result;
    }
}

/// An observer that ignores everything (what [`crate::run`] uses).
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {}
