//! Response payloads the storyboards carry, shaped as a seller would send them.
//!
//! The storyboards do not ship full seller responses for most steps; what they do ship is:
//! - `comply_test_controller` `force_task_completion` `params.result`: the terminal success
//!   payload of a task (tool = the task of the step that captured the forced `task_id`), sent
//!   with the envelope's `status: completed`;
//! - `force_<tool>_arm` directives: the async arm the next `<tool>` call returns
//!   (`{status, task_id, message}`, echoing that call's `context`);
//! - `sample_response` on tool steps (one error arm in rc.9; the OAuth metadata sample belongs
//!   to no tool).

use adcp_types::TaskStatus;
use serde_json::{Map, Value};

use super::corpus::{Corpus, Step, lookup};
use super::substitute::{Resolutions, Resolver};

/// Which part of a tool's response a payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The synchronous / terminal success payload.
    Success,
    /// An async arm (`submitted`, `working`, `input-required`).
    Arm(TaskStatus),
    /// A `sample_response` from a step that expects an error.
    Error,
}

/// One response payload from the storyboards.
#[derive(Debug, Clone)]
pub(crate) struct ResponseCase {
    /// `storyboard path#step id` of the step the payload comes from.
    pub(crate) key: String,
    pub(crate) tool: String,
    pub(crate) kind: Kind,
    pub(crate) payload: Value,
    /// The `response_schema_ref` of the step that receives this payload, if it names one.
    pub(crate) step_schema: Option<String>,
}

/// Every response payload found in the corpus, with tokens substituted.
pub(crate) fn collect(corpus: &Corpus, stats: &mut Resolutions) -> Vec<ResponseCase> {
    let mut cases = Vec::new();
    for storyboard in &corpus.storyboards {
        let resolver = Resolver::new(storyboard, corpus.kit_of(storyboard));
        let steps = storyboard.steps();
        for (index, s) in steps.iter().enumerate() {
            let Some(task) = resolver.task_of(s.raw) else {
                continue;
            };
            let key = storyboard.key(s.id);
            let request = resolver.substitute(&s.raw["sample_request"], stats);
            let scenario = request["scenario"].as_str().unwrap_or_default();
            if task == "comply_test_controller" && scenario == "force_task_completion" {
                let tool = captured_by(&resolver, &steps, s);
                if let Some(result) = request.pointer("/params/result") {
                    cases.push(completion(key.clone(), tool, result));
                }
            } else if let Some(tool) = (task == "comply_test_controller")
                .then(|| scenario.strip_prefix("force_")?.strip_suffix("_arm"))
                .flatten()
            {
                // The call the directive applies to: the next step calling that tool.
                let call = steps[index + 1..]
                    .iter()
                    .find(|o| resolver.task_of(o.raw).as_deref() == Some(tool));
                cases.push(forced_arm(
                    key.clone(),
                    tool,
                    &request["params"],
                    call,
                    &resolver,
                    stats,
                ));
            }
            let sample = s.raw.get("sample_response");
            if let Some(sample) = sample.filter(|_| adcp_types::manifest::tool(&task).is_some()) {
                let payload = resolver.substitute(sample, stats);
                let kind = if payload.get("errors").is_some() {
                    Kind::Error
                } else {
                    Kind::Success
                };
                let step_schema = s.raw["response_schema_ref"].as_str().map(str::to_owned);
                cases.push(ResponseCase {
                    key,
                    tool: task,
                    kind,
                    payload,
                    step_schema,
                });
            }
        }
    }
    cases
}

/// The tool of the step that captured the `$context` name a completion's `task_id` uses.
fn captured_by(resolver: &Resolver<'_>, steps: &[Step<'_>], completion: &Step<'_>) -> String {
    let raw = completion
        .raw
        .pointer("/sample_request/params/task_id")
        .and_then(Value::as_str);
    let name = raw
        .and_then(|t| t.strip_prefix("$context."))
        .expect("task_id is a $context capture");
    steps
        .iter()
        .find_map(|other| {
            let captures = other.raw["context_outputs"].as_array()?.iter().any(|out| {
                out.get("name")
                    .or_else(|| out.get("key"))
                    .and_then(Value::as_str)
                    == Some(name)
            });
            captures.then(|| resolver.task_of(other.raw)).flatten()
        })
        .expect("force_task_completion names a task captured by a tool step")
}

/// A forced task result as the tool response carrying it: `result` is the task body (what
/// get_task_status and the webhook carry); a tool response also carries the envelope's
/// `status`, which core/protocol-envelope.json requires.
fn completion(key: String, tool: String, result: &Value) -> ResponseCase {
    let mut payload = result.clone();
    if let Some(map) = payload.as_object_mut() {
        map.entry("status")
            .or_insert_with(|| Value::from("completed"));
    }
    ResponseCase {
        key,
        tool,
        kind: Kind::Success,
        payload,
        step_schema: None,
    }
}

/// The arm a `force_<tool>_arm` directive makes the next `<tool>` call return.
fn forced_arm(
    key: String,
    tool: &str,
    params: &Value,
    call: Option<&Step<'_>>,
    resolver: &Resolver<'_>,
    stats: &mut Resolutions,
) -> ResponseCase {
    let arm: TaskStatus = params["arm"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .expect("`arm` is a task status");
    let mut payload = Map::new();
    payload.insert("status".into(), Value::from(arm.as_str()));
    for field in ["task_id", "message"] {
        if let Some(value) = params.get(field) {
            payload.insert(field.into(), value.clone());
        }
    }
    if let Some(context) = call.and_then(|c| lookup(&c.raw["sample_request"], "context")) {
        payload.insert("context".into(), resolver.substitute(context, stats));
    }
    let step_schema = call
        .and_then(|c| c.raw["response_schema_ref"].as_str())
        .map(str::to_owned);
    ResponseCase {
        key,
        tool: tool.to_owned(),
        kind: Kind::Arm(arm),
        payload: Value::Object(payload),
        step_schema,
    }
}
