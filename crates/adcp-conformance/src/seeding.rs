//! `controller_seeding`: the storyboard's `fixtures:` block, seeded through
//! `comply_test_controller` before the phases run, in foreign-key order.

use serde_json::{Map, Value, json};

use crate::checks;
use crate::report::{Skip, SkipReason, StepResult, StepStatus};
use crate::runner::{StoryboardRun, millis};

/// Fixture keys, the controller scenario that seeds them, and their id fields, in dependency
/// order (accounts before products, products before pricing options and media buys).
const SEEDS: [(&str, &str, &[&str]); 8] = [
    ("accounts", "seed_account", &["account_id"]),
    ("buyer_agents", "seed_buyer_agent", &["agent_url"]),
    ("products", "seed_product", &["product_id"]),
    (
        "pricing_options",
        "seed_pricing_option",
        &["product_id", "pricing_option_id"],
    ),
    ("creative_formats", "seed_creative_format", &["format_id"]),
    ("creatives", "seed_creative", &["creative_id"]),
    ("plans", "seed_plan", &["plan_id"]),
    ("media_buys", "seed_media_buy", &["media_buy_id"]),
];

/// Controller answers meaning "this seed scenario is not implemented".
pub(crate) const UNSUPPORTED: [&str; 3] =
    ["UNKNOWN_SCENARIO", "NOT_SUPPORTED", "UNSUPPORTED_FEATURE"];

/// The code a controller refusal names: a `ControllerError`'s own `error`, else an AdCP error
/// code wherever the transport put it.
pub(crate) fn controller_error_code(data: &Value) -> Option<String> {
    data.get("error")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| checks::extract_error_code(data, false).map(|(code, _)| code))
}

/// The controller `params` that seed `entry`: its id fields at the top and the fixture under
/// `fixture`. Entries are either the fixture itself (products: `product_id` beside the fields)
/// or carry it under `fixture:` already (accounts in pagination-integrity-list-accounts); the
/// controller gets `params.fixture` either way, never a fixture wrapped twice.
fn seed_params(id_fields: &[&str], entry: &Map<String, Value>) -> Map<String, Value> {
    let mut params = Map::new();
    let mut fixture = entry.clone();
    for field in id_fields {
        if let Some(id) = fixture.remove(*field) {
            params.insert((*field).to_owned(), id);
        }
    }
    match fixture.remove("fixture") {
        Some(Value::Object(inner)) => {
            params.extend(fixture);
            params.insert("fixture".into(), Value::Object(inner));
        }
        Some(other) => {
            fixture.insert("fixture".into(), other);
            params.insert("fixture".into(), Value::Object(fixture));
        }
        None => {
            params.insert("fixture".into(), Value::Object(fixture));
        }
    }
    params
}

fn seeding_step(step_id: &str) -> StepResult {
    let mut r = StepResult::skipped(
        "controller_seeding",
        step_id,
        "comply_test_controller",
        SkipReason::NotApplicable,
        String::new(),
    );
    r.skip = None;
    r
}

/// What one seed call came to.
enum Seeded {
    Done(StepResult),
    Unsupported(StepResult, String),
}

impl StoryboardRun<'_> {
    /// Seeds `fixtures:` when `prerequisites.controller_seeding` asks for it. `Some(skip)` when
    /// the agent cannot be seeded: the storyboard is then not applicable (a coverage gap, not a
    /// failure). A refused seed is a failed step.
    pub(crate) async fn seed(&mut self) -> Option<Skip> {
        let storyboard = self.storyboard;
        let fixtures = storyboard.fixtures.as_ref().filter(|f| !f.is_empty())?;
        if !storyboard.prerequisites.controller_seeding {
            return None;
        }
        if !self.runner.advertises("comply_test_controller") {
            return Some(Skip {
                reason: SkipReason::MissingTestController,
                detail: "fixtures must be seeded through comply_test_controller, which the agent does not advertise".into(),
            });
        }
        for key in fixtures
            .keys()
            .filter(|k| !SEEDS.iter().any(|(s, _, _)| s == k))
        {
            let mut r = seeding_step(&format!("seed.{key}"));
            r.status = StepStatus::Failed;
            r.error = Some(format!(
                "fixtures key {key} has no seed scenario this runner knows"
            ));
            self.results.push(r);
        }
        for (key, scenario, id_fields) in SEEDS {
            for entry in fixtures
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Value::Object(entry) = entry else {
                    continue;
                };
                match self.seed_entry(scenario, id_fields, entry).await {
                    Seeded::Done(r) => self.results.push(r),
                    Seeded::Unsupported(r, detail) => {
                        self.results.push(r);
                        return Some(Skip {
                            reason: SkipReason::NotApplicable,
                            detail,
                        });
                    }
                }
            }
        }
        None
    }

    async fn seed_entry(
        &self,
        scenario: &str,
        id_fields: &[&str],
        entry: &Map<String, Value>,
    ) -> Seeded {
        let params = seed_params(id_fields, entry);
        let label: Vec<&str> = id_fields
            .iter()
            .filter_map(|f| params.get(*f).and_then(Value::as_str))
            .collect();
        let started = std::time::Instant::now();
        let outcome = self
            .controller(scenario, Some(Value::Object(params.clone())))
            .await;
        let mut r = seeding_step(&format!("{scenario}.{}", label.join(".")));
        r.duration_ms = millis(started);
        r.request = Some(json!({"scenario": scenario, "params": params}));
        match outcome {
            Ok(data) if data.get("success") == Some(&json!(true)) => {
                r.status = StepStatus::Passed;
                r.response = Some(data);
            }
            Ok(data) => {
                let code = controller_error_code(&data);
                r.response = Some(data);
                if code.as_deref().is_some_and(|c| UNSUPPORTED.contains(&c)) {
                    r.status = StepStatus::Skipped;
                    r.skip = Some(Skip {
                        reason: SkipReason::NotApplicable,
                        detail: format!("fixture_seed_unsupported: {scenario}"),
                    });
                    return Seeded::Unsupported(
                        r,
                        format!(
                            "fixture_seed_unsupported: the controller does not implement {scenario}"
                        ),
                    );
                }
                r.status = StepStatus::Failed;
                r.error = Some(format!(
                    "{scenario} was refused ({})",
                    code.unwrap_or_else(|| "no error code".into())
                ));
            }
            Err(e) => {
                r.status = StepStatus::Failed;
                r.error = Some(e);
            }
        }
        Seeded::Done(r)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::seed_params;

    #[test]
    fn a_fixture_is_wrapped_once_whichever_way_the_storyboard_wrote_it() {
        let flat = json!({"product_id": "p1", "delivery_type": "non_guaranteed"});
        assert_eq!(
            serde_json::Value::Object(seed_params(&["product_id"], flat.as_object().unwrap())),
            json!({"product_id": "p1", "fixture": {"delivery_type": "non_guaranteed"}})
        );
        let nested =
            json!({"account_id": "a1", "fixture": {"operator": "o.example", "status": "active"}});
        assert_eq!(
            serde_json::Value::Object(seed_params(&["account_id"], nested.as_object().unwrap())),
            json!({"account_id": "a1", "fixture": {"operator": "o.example", "status": "active"}})
        );
    }
}
