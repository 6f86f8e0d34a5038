//! The demo's sandbox fixtures: `seed_product`, `seed_pricing_option` and `simulate_delivery`;
//! and the `list_creatives` read the security storyboard probes.

use std::sync::Arc;

use adcp_server::{Account, CallContext, Outcome, SandboxFixtures, ToolHandler};
use adcp_types::{AdcpError, codes};
use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::catalog::Catalog;
use crate::delivery::{Audience, Delivered, DeliveryLedger};
use crate::sales::{MediaBuys, SANDBOX_BUY};

/// Seeds the shared catalog and simulates delivery on the demo's media buys.
#[derive(Debug, Clone)]
pub(crate) struct DemoFixtures {
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) media_buys: MediaBuys,
    pub(crate) deliveries: Arc<DeliveryLedger>,
}

fn text<'a>(params: &'a Value, name: &str) -> Result<&'a str, AdcpError> {
    params
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| AdcpError::new("INVALID_PARAMS", format!("`params.{name}` is required")))
}

#[async_trait]
impl SandboxFixtures for DemoFixtures {
    fn scenarios(&self) -> Vec<&'static str> {
        vec!["seed_product", "seed_pricing_option", "simulate_delivery"]
    }

    async fn apply(
        &self,
        scenario: &str,
        params: &Value,
        _account: &Account,
    ) -> Result<Map<String, Value>, AdcpError> {
        let empty = Map::new();
        let fixture = params
            .get("fixture")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        match scenario {
            "seed_product" => self
                .catalog
                .seed_product(text(params, "product_id")?, fixture)
                .map(|()| Map::new())
                .map_err(|reason| AdcpError::new("INVALID_PARAMS", reason)),
            "seed_pricing_option" => {
                let product_id = text(params, "product_id")?;
                let option_id = text(params, "pricing_option_id")?;
                if self
                    .catalog
                    .seed_pricing_option(product_id, option_id, fixture)
                {
                    Ok(Map::new())
                } else {
                    Err(AdcpError::new(
                        "NOT_FOUND",
                        format!("no seeded product `{product_id}`"),
                    ))
                }
            }
            "simulate_delivery" => {
                let media_buy_id = text(params, "media_buy_id")?;
                // Sandbox buys of any account (the runner's controller calls use its own);
                // a live buy's delivery is never simulated.
                let exists = self.media_buys.iter().any(|buys| {
                    buys.value()
                        .iter()
                        .any(|buy| buy["media_buy_id"] == media_buy_id && buy[SANDBOX_BUY] == true)
                });
                if !exists {
                    return Err(AdcpError::new(
                        "NOT_FOUND",
                        format!("no media buy `{media_buy_id}`"),
                    ));
                }
                let injected = Delivered::from_params(params)?;
                let audience = Audience::from_params(params)?;
                let mut simulated = injected.to_json();
                audience.to_json(&mut simulated);
                let totals = self.deliveries.record(media_buy_id, injected, audience);
                let mut cumulative = totals.delivered.to_json();
                totals.audience.to_json(&mut cumulative);
                let mut fields = Map::new();
                fields.insert("simulated".into(), Value::Object(simulated));
                fields.insert("cumulative".into(), Value::Object(cumulative));
                Ok(fields)
            }
            other => Err(AdcpError::new(
                codes::UNSUPPORTED_FEATURE,
                format!("unknown scenario {other}"),
            )),
        }
    }
}

/// `list_creatives`: the demo keeps no creative library, so the list is empty (but real).
#[derive(Debug, Clone, Copy)]
pub(crate) struct DemoCreatives;

#[async_trait]
impl ToolHandler for DemoCreatives {
    async fn call(&self, _request: Value, _ctx: &CallContext) -> Result<Outcome<Value>, AdcpError> {
        Ok(Outcome::Completed(json!({
            "query_summary": { "total_matching": 0, "returned": 0 },
            "pagination": { "has_more": false },
            "creatives": []
        })))
    }
}
