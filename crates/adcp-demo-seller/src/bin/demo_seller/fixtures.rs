//! The demo's sandbox fixtures: the controller's `seed_*` scenarios (products, pricing options,
//! creatives, creative formats, media buys), forced states (`force_media_buy_status`,
//! `force_creative_status`) and simulations (`simulate_delivery`, `simulate_budget_spend`).
//! Controller scenarios take and answer free-form JSON (`SandboxFixtures` is JSON in, JSON
//! out), so their params are read and their replies built as JSON.

mod seed;

use std::sync::Arc;

use adcp_server::{Account, SandboxFixtures};
use adcp_types::generated::{CreativeStatus, MediaBuyStatus};
use adcp_types::{AdcpError, codes};
use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::buys::{Holder, MediaBuy, MediaBuys};
use crate::catalog::Catalog;
use crate::delivery::{Audience, Delivered, DeliveryLedger};
use crate::sales::creatives::{self, ForceError};

/// The `list_creatives` tool (mounted by the entry point under this path).
pub(crate) use crate::sales::creative_list::DemoCreatives;

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

fn no_buy(media_buy_id: &str) -> AdcpError {
    AdcpError::new("NOT_FOUND", format!("no media buy `{media_buy_id}`"))
}

impl DemoFixtures {
    /// Runs `change` on the sandbox buy `media_buy_id` of any account (compliance runners send
    /// controller calls under their own account), then settles it; a live buy is never
    /// touched.
    fn with_sandbox_buy<R>(
        &self,
        media_buy_id: &str,
        change: impl FnOnce(&mut MediaBuy) -> R,
    ) -> Result<R, AdcpError> {
        self.media_buys
            .update_sandbox(media_buy_id, |buy| {
                let result = change(buy);
                creatives::library().settle(buy);
                result
            })
            .ok_or_else(|| no_buy(media_buy_id))
    }

    /// `force_creative_status`: moves the sandbox creative along the review state machine
    /// ([`creatives::may_force`]); an edge it does not have is `INVALID_TRANSITION`.
    fn force_creative_status(&self, params: &Value) -> Result<Map<String, Value>, AdcpError> {
        let creative_id = text(params, "creative_id")?;
        let status = text(params, "status")?;
        let Ok(forced) = status.parse::<CreativeStatus>() else {
            return Err(AdcpError::new(
                "INVALID_PARAMS",
                format!("`{status}` is not a creative status"),
            ));
        };
        let reason = params
            .get("rejection_reason")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let previous = match creatives::library().force(creative_id, forced, reason) {
            Ok(previous) => previous,
            Err(ForceError::NotFound) => {
                return Err(AdcpError::new(
                    "NOT_FOUND",
                    format!("no sandbox creative `{creative_id}`"),
                ));
            }
            Err(ForceError::InvalidTransition(from)) => {
                return Err(AdcpError::new(
                    "INVALID_TRANSITION",
                    format!("a creative cannot move from {from} to {forced}"),
                ));
            }
        };
        // Buys depending on the creative may now start, or be impaired: settle them.
        self.media_buys
            .for_each_sandbox(|buy| creatives::library().settle(buy));
        let mut fields = Map::new();
        fields.insert("previous_state".into(), Value::from(previous.to_string()));
        fields.insert("current_state".into(), Value::from(forced.to_string()));
        Ok(fields)
    }

    /// `simulate_delivery`: adds the injected metrics to the buy's ledger.
    fn simulate_delivery(&self, params: &Value) -> Result<Map<String, Value>, AdcpError> {
        let media_buy_id = text(params, "media_buy_id")?;
        self.with_sandbox_buy(media_buy_id, |_| ())?;
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

    /// `force_media_buy_status`: moves the buy to `params.status`; a buy in a terminal status
    /// refuses with `INVALID_TRANSITION`.
    fn force_media_buy_status(&self, params: &Value) -> Result<Map<String, Value>, AdcpError> {
        let media_buy_id = text(params, "media_buy_id")?;
        let status = text(params, "status")?;
        let Ok(forced) = status.parse::<MediaBuyStatus>() else {
            return Err(AdcpError::new(
                "INVALID_PARAMS",
                format!("`{status}` is not a media-buy status"),
            ));
        };
        let (previous, terminal) = self.with_sandbox_buy(media_buy_id, |buy| {
            let previous = buy.status;
            let terminal = buy.is_terminal();
            if !terminal {
                buy.status = forced;
            }
            (previous, terminal)
        })?;
        if terminal {
            return Err(AdcpError::new(
                "INVALID_TRANSITION",
                format!("the media buy is {previous}, a terminal status"),
            ));
        }
        let mut fields = Map::new();
        fields.insert("previous_state".into(), Value::from(previous.to_string()));
        fields.insert("current_state".into(), Value::from(status));
        Ok(fields)
    }

    /// `simulate_budget_spend`: brings the buy's simulated spend up to `spend_percentage` of
    /// its total budget.
    fn simulate_budget_spend(&self, params: &Value) -> Result<Map<String, Value>, AdcpError> {
        let media_buy_id = text(params, "media_buy_id")?;
        let percentage = params["spend_percentage"]
            .as_f64()
            .filter(|p| (0.0..=100.0).contains(p))
            .ok_or_else(|| {
                AdcpError::new(
                    "INVALID_PARAMS",
                    "`params.spend_percentage` must be a number from 0 to 100",
                )
            })?;
        let budget = self.with_sandbox_buy(media_buy_id, |buy| buy.total_budget())?;
        let target = budget * percentage / 100.0;
        let spent = self.deliveries.totals(media_buy_id).delivered.spend;
        let top_up = Delivered {
            spend: (target - spent).max(0.0),
            ..Delivered::default()
        };
        self.deliveries
            .record(media_buy_id, top_up, Audience::default());
        let mut fields = Map::new();
        fields.insert(
            "simulated".into(),
            json!({ "spend_percentage": percentage, "computed_spend": target, "budget": budget }),
        );
        Ok(fields)
    }
}

#[async_trait]
impl SandboxFixtures for DemoFixtures {
    fn scenarios(&self) -> Vec<&'static str> {
        vec![
            "seed_product",
            "seed_pricing_option",
            "seed_creative",
            "seed_creative_format",
            "seed_media_buy",
            "simulate_delivery",
            "force_media_buy_status",
            "force_creative_status",
            "simulate_budget_spend",
        ]
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
                match self
                    .catalog
                    .seed_pricing_option(product_id, option_id, fixture)
                {
                    Ok(true) => Ok(Map::new()),
                    Ok(false) => Err(AdcpError::new(
                        "NOT_FOUND",
                        format!("no seeded product `{product_id}`"),
                    )),
                    Err(reason) => Err(AdcpError::new("INVALID_PARAMS", reason)),
                }
            }
            "seed_creative" => {
                let creative = seed::creative(text(params, "creative_id")?, fixture)?;
                creatives::library().put(Holder::Seeded, creative);
                Ok(Map::new())
            }
            "seed_creative_format" => {
                let format_id = text(params, "format_id")?;
                crate::sales::formats::check_seeded(format_id, fixture)
                    .map_err(|reason| AdcpError::new("INVALID_PARAMS", reason))?;
                self.catalog.seed_format(format_id, fixture);
                Ok(Map::new())
            }
            "seed_media_buy" => {
                let mut buy = seed::media_buy(text(params, "media_buy_id")?, fixture)?;
                creatives::library().settle(&mut buy);
                self.media_buys.insert(buy);
                Ok(Map::new())
            }
            "force_creative_status" => self.force_creative_status(params),
            "simulate_delivery" => self.simulate_delivery(params),
            "force_media_buy_status" => self.force_media_buy_status(params),
            "simulate_budget_spend" => self.simulate_budget_spend(params),
            other => Err(AdcpError::new(
                codes::UNSUPPORTED_FEATURE,
                format!("unknown scenario {other}"),
            )),
        }
    }
}
