//! The demo's signals platform: two owned segments; brief discovery with a push config hands
//! off; activation of an unknown segment is `REFERENCE_NOT_FOUND`.

use std::time::Duration;

use adcp_server::{
    CallContext, DiscoveryResult, Outcome, SignalsPlatform, SignalsTool, TaskResult,
};
use adcp_types::generated::{
    ActivateSignalRequest, ActivateSignalResponse, ActivateSignalSuccess, Deployment,
    GetSignalsRequest, GetSignalsRequestDiscoveryMode, GetSignalsResponse,
    GetSignalsResponseSignalsItem, SignalCatalogType, SignalId, SignalRef, SignalRefVariant2Scope,
    SignalValueType, VendorPricingOption, VendorPricingOptionVariant0Model,
};
use adcp_types::{AdcpError, codes};
use serde_json::Map;

use crate::reply::built;

/// One of the demo's owned segments.
struct Segment {
    id: &'static str,
    name: &'static str,
    description: &'static str,
    /// The CPM in USD.
    cpm: f64,
}

/// The demo's segments.
const SEGMENTS: [Segment; 2] = [
    Segment {
        id: "seg_active_hikers",
        name: "Active hikers",
        description: "People who logged a hike in the last 90 days.",
        cpm: 1.5,
    },
    Segment {
        id: "seg_trail_runners",
        name: "Trail runners",
        description: "Readers of trail-running gear reviews.",
        cpm: 2.0,
    },
];

/// Where the demo's segments are live.
fn deployments() -> Vec<Deployment> {
    vec![Deployment::platform("the-trade-desk", true)]
}

/// The demo seller's signals side.
#[derive(Debug, Clone)]
pub(crate) struct DemoSignals {
    pub(crate) curation: Duration,
    pub(crate) agent_url: String,
}

impl DemoSignals {
    /// `segment` as `get_signals` lists it.
    fn signal(&self, segment: &Segment) -> Result<GetSignalsResponseSignalsItem, AdcpError> {
        let pricing = VendorPricingOption::Variant0 {
            pricing_option_id: "cpm_std".to_owned(),
            model: VendorPricingOptionVariant0Model::Cpm,
            cpm: segment.cpm,
            currency: "USD".to_owned(),
            applies_to_output_format_ids: None,
            ext: None,
            extra: Map::new(),
        };
        let mut item = built(
            GetSignalsResponseSignalsItem::builder()
                .signal_agent_segment_id(segment.id)
                .name(segment.name)
                .description(segment.description)
                .signal_type(SignalCatalogType::Owned)
                .signal_id(SignalId::agent(self.agent_url.clone(), segment.id))
                .value_type(SignalValueType::Binary)
                .deployments(deployments())
                .pricing_options(vec![pricing])
                .build(),
        )?;
        // The demo is the source of its own segments: buyers target them by a signal-source
        // reference (`core/signal-ref.json`, scope `signal_source`).
        item.signal_ref = Some(SignalRef::Variant2 {
            scope: SignalRefVariant2Scope::SignalSource,
            signal_id: segment.id.to_owned(),
            signal_source_url: self.agent_url.clone(),
            extra: Map::new(),
        });
        Ok(item)
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
        let max_cpm = request.filters.as_ref().and_then(|f| f.max_cpm);
        let signals = SEGMENTS
            .iter()
            .filter(|s| max_cpm.is_none_or(|max| s.cpm <= max))
            .map(|s| self.signal(s))
            .collect::<Result<Vec<_>, _>>()?;
        let body = GetSignalsResponse {
            signals: Some(signals),
            ..GetSignalsResponse::default()
        };
        let wholesale = request.discovery_mode == Some(GetSignalsRequestDiscoveryMode::Wholesale);
        if wholesale || request.push_notification_config.is_none() {
            return Ok(Outcome::Completed(body));
        }
        let curation = self.curation;
        Ok(ctx
            .handoff_to_task(move |_task| async move {
                tokio::time::sleep(curation).await;
                Ok::<_, AdcpError>(body)
            })
            .into())
    }

    async fn activate_signal(
        &self,
        request: ActivateSignalRequest,
        _ctx: &CallContext,
    ) -> Result<TaskResult<ActivateSignalResponse>, AdcpError> {
        let id = &request.signal_agent_segment_id;
        if !SEGMENTS.iter().any(|s| s.id == id) {
            return Err(AdcpError::new(
                codes::REFERENCE_NOT_FOUND,
                format!("no signal segment `{id}`"),
            )
            .with_field("signal_agent_segment_id"));
        }
        let reply = built(
            ActivateSignalSuccess::builder()
                .deployments(deployments())
                .build(),
        )?;
        Ok(Outcome::Completed(reply.into()))
    }
}
