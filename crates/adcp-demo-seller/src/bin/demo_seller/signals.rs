//! The demo's signals platform: two owned segments; brief discovery with a push config hands
//! off; activation of an unknown segment is `REFERENCE_NOT_FOUND`.

use std::time::Duration;

use adcp_server::{
    CallContext, DiscoveryResult, Outcome, SignalsPlatform, SignalsTool, TaskResult,
};
use adcp_types::generated::{
    ActivateSignalRequest, ActivateSignalResponse, GetSignalsRequest, GetSignalsResponse,
};
use adcp_types::{AdcpError, codes};
use serde_json::{Value, json};

use crate::sales::typed;

/// The demo seller's signals side.
#[derive(Debug, Clone)]
pub(crate) struct DemoSignals {
    pub(crate) curation: Duration,
    pub(crate) agent_url: String,
}

impl DemoSignals {
    fn segments(&self) -> Vec<Value> {
        [("seg_active_hikers", "Active hikers", "People who logged a hike in the last 90 days.", 1.5),
         ("seg_trail_runners", "Trail runners", "Readers of trail-running gear reviews.", 2.0)]
            .into_iter()
            .map(|(id, name, description, cpm)| {
                json!({
                    "signal_agent_segment_id": id,
                    "name": name,
                    "description": description,
                    "signal_type": "owned",
                    "signal_id": { "source": "agent", "agent_url": self.agent_url, "id": id },
                    "value_type": "binary",
                    "deployments": [{ "type": "platform", "platform": "the-trade-desk", "is_live": true }],
                    "pricing_options": [{ "pricing_option_id": "cpm_std", "model": "cpm", "cpm": cpm, "currency": "USD" }]
                })
            })
            .collect()
    }
}

#[async_trait::async_trait]
impl SignalsPlatform for DemoSignals {
    fn tools(&self) -> Vec<SignalsTool> {
        vec![SignalsTool::GetSignals, SignalsTool::ActivateSignal]
    }

    async fn get_signals(
        &self,
        request: GetSignalsRequest,
        ctx: &CallContext,
    ) -> Result<DiscoveryResult<GetSignalsResponse>, AdcpError> {
        let request = serde_json::to_value(&request).unwrap_or(Value::Null);
        let max_cpm = request.pointer("/filters/max_cpm").and_then(Value::as_f64);
        let signals: Vec<Value> = self
            .segments()
            .into_iter()
            .filter(|s| {
                max_cpm.is_none_or(|max| {
                    s.pointer("/pricing_options/0/cpm")
                        .and_then(Value::as_f64)
                        .is_some_and(|cpm| cpm <= max)
                })
            })
            .collect();
        let body = json!({ "signals": signals });
        let wholesale = request.get("discovery_mode").and_then(Value::as_str) == Some("wholesale");
        let has_push = request
            .get("push_notification_config")
            .is_some_and(|p| !p.is_null());
        if wholesale || !has_push {
            return Ok(Outcome::Completed(typed(body)?));
        }
        let curation = self.curation;
        Ok(ctx
            .handoff_to_task(move |_task| async move {
                tokio::time::sleep(curation).await;
                typed::<GetSignalsResponse>(body)
            })
            .into())
    }

    async fn activate_signal(
        &self,
        request: ActivateSignalRequest,
        _ctx: &CallContext,
    ) -> Result<TaskResult<ActivateSignalResponse>, AdcpError> {
        let request = serde_json::to_value(&request).unwrap_or(Value::Null);
        let id = request
            .get("signal_agent_segment_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !self
            .segments()
            .iter()
            .any(|s| s["signal_agent_segment_id"] == id)
        {
            return Err(AdcpError::new(
                codes::REFERENCE_NOT_FOUND,
                format!("no signal segment `{id}`"),
            )
            .with_field("signal_agent_segment_id"));
        }
        let deployments =
            json!([{ "type": "platform", "platform": "the-trade-desk", "is_live": true }]);
        Ok(Outcome::Completed(typed(
            json!({ "deployments": deployments }),
        )?))
    }
}
