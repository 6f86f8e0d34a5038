//! Response unions: a tool's success response or one of its async arms, told apart by the
//! wire `status` — never by trying each shape in turn (typify types the arms' `status` as a
//! plain string, so shape-matching would take a `working` payload for a `submitted` one).
//!
//! The success arm is the generated type adopters construct (e.g. [`GetProductsResponse`]);
//! the server adds the envelope (`status: completed`, `context`). A payload whose `status` is
//! absent or `completed` is the success arm; `submitted`, `working` and `input-required` pick
//! their arm; any other status, or an arm the tool does not have, fails to parse — so
//! `{status: "input-required"}` is never a [`GetSignalsResponseUnion`].

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::generated::{
    BuildCreativeAsyncResponseInputRequired, BuildCreativeAsyncResponseSubmitted,
    BuildCreativeAsyncResponseWorking, BuildCreativeResponse,
    CreateMediaBuyAsyncResponseInputRequired, CreateMediaBuyAsyncResponseSubmitted,
    CreateMediaBuyAsyncResponseWorking, CreateMediaBuyResponse,
    GetProductsAsyncResponseInputRequired, GetProductsAsyncResponseSubmitted,
    GetProductsAsyncResponseWorking, GetProductsResponse, GetSignalsAsyncResponseSubmitted,
    GetSignalsAsyncResponseWorking, GetSignalsResponse, SyncCatalogsAsyncResponseInputRequired,
    SyncCatalogsAsyncResponseSubmitted, SyncCatalogsAsyncResponseWorking, SyncCatalogsResponse,
    SyncCreativesAsyncResponseInputRequired, SyncCreativesAsyncResponseSubmitted,
    SyncCreativesAsyncResponseWorking, SyncCreativesResponse,
    UpdateMediaBuyAsyncResponseInputRequired, UpdateMediaBuyAsyncResponseSubmitted,
    UpdateMediaBuyAsyncResponseWorking, UpdateMediaBuyResponse,
};

/// The arm a payload's `status` selects.
fn arm_of(value: &Value) -> Result<&str, String> {
    match value.get("status") {
        None | Some(Value::Null) => Ok("completed"),
        Some(Value::String(status)) => Ok(status.as_str()),
        Some(other) => Err(format!("`status` must be a string, got {other}")),
    }
}

macro_rules! response_union {
    (
        $(#[$doc:meta])*
        $name:ident for $tool:literal {
            Success($success:ty),
            $( $arm:ident($ty:ty) = $status:literal ),* $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq)]
        #[allow(clippy::large_enum_variant)]
        pub enum $name {
            /// The synchronous (or completed) response.
            Success($success),
            $(
                #[doc = concat!("The `", $status, "` async arm.")]
                $arm($ty),
            )*
        }

        impl $name {
            /// The wire status this value stands for (`completed` for the success arm).
            pub fn status(&self) -> &'static str {
                match self {
                    Self::Success(_) => "completed",
                    $( Self::$arm(_) => $status, )*
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = Value::deserialize(deserializer)?;
                let arm = arm_of(&value).map_err(D::Error::custom)?;
                match arm {
                    "completed" => serde_json::from_value(value).map(Self::Success).map_err(D::Error::custom),
                    $( $status => serde_json::from_value(value).map(Self::$arm).map_err(D::Error::custom), )*
                    other => Err(D::Error::custom(format!(
                        concat!("`status: {}` is not an arm of ", $tool, " responses"),
                        other
                    ))),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    Self::Success(inner) => inner.serialize(serializer),
                    $( Self::$arm(inner) => inner.serialize(serializer), )*
                }
            }
        }

        impl From<$success> for $name {
            fn from(value: $success) -> Self {
                Self::Success(value)
            }
        }
    };
}

response_union! {
    /// get_products: success, or `submitted` / `working` / `input-required`.
    GetProductsResponseUnion for "get_products" {
        Success(GetProductsResponse),
        Submitted(GetProductsAsyncResponseSubmitted) = "submitted",
        Working(GetProductsAsyncResponseWorking) = "working",
        InputRequired(GetProductsAsyncResponseInputRequired) = "input-required",
    }
}

response_union! {
    /// get_signals: success, or `submitted` / `working`. The protocol gives get_signals no
    /// `input-required` arm, so such a payload fails to parse.
    GetSignalsResponseUnion for "get_signals" {
        Success(GetSignalsResponse),
        Submitted(GetSignalsAsyncResponseSubmitted) = "submitted",
        Working(GetSignalsAsyncResponseWorking) = "working",
    }
}

response_union! {
    /// create_media_buy: the generated response (success, error or submitted shape), or the
    /// `working` / `input-required` arms. `submitted` payloads parse as the async arm.
    CreateMediaBuyResponseUnion for "create_media_buy" {
        Success(CreateMediaBuyResponse),
        Submitted(CreateMediaBuyAsyncResponseSubmitted) = "submitted",
        Working(CreateMediaBuyAsyncResponseWorking) = "working",
        InputRequired(CreateMediaBuyAsyncResponseInputRequired) = "input-required",
    }
}

response_union! {
    /// update_media_buy: success, or `submitted` / `working` / `input-required`.
    UpdateMediaBuyResponseUnion for "update_media_buy" {
        Success(UpdateMediaBuyResponse),
        Submitted(UpdateMediaBuyAsyncResponseSubmitted) = "submitted",
        Working(UpdateMediaBuyAsyncResponseWorking) = "working",
        InputRequired(UpdateMediaBuyAsyncResponseInputRequired) = "input-required",
    }
}

response_union! {
    /// build_creative: success, or `submitted` / `working` / `input-required`.
    BuildCreativeResponseUnion for "build_creative" {
        Success(BuildCreativeResponse),
        Submitted(BuildCreativeAsyncResponseSubmitted) = "submitted",
        Working(BuildCreativeAsyncResponseWorking) = "working",
        InputRequired(BuildCreativeAsyncResponseInputRequired) = "input-required",
    }
}

response_union! {
    /// sync_catalogs: success, or `submitted` / `working` / `input-required`.
    SyncCatalogsResponseUnion for "sync_catalogs" {
        Success(SyncCatalogsResponse),
        Submitted(SyncCatalogsAsyncResponseSubmitted) = "submitted",
        Working(SyncCatalogsAsyncResponseWorking) = "working",
        InputRequired(SyncCatalogsAsyncResponseInputRequired) = "input-required",
    }
}

response_union! {
    /// sync_creatives: success, or `submitted` / `working` / `input-required`.
    SyncCreativesResponseUnion for "sync_creatives" {
        Success(SyncCreativesResponse),
        Submitted(SyncCreativesAsyncResponseSubmitted) = "submitted",
        Working(SyncCreativesAsyncResponseWorking) = "working",
        InputRequired(SyncCreativesAsyncResponseInputRequired) = "input-required",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_picks_the_arm() {
        let submitted: GetProductsResponseUnion =
            serde_json::from_value(json!({"status": "submitted", "task_id": "task_1"})).unwrap();
        assert!(matches!(submitted, GetProductsResponseUnion::Submitted(_)));
        let working: GetProductsResponseUnion =
            serde_json::from_value(json!({"status": "working", "task_id": "task_1"})).unwrap();
        assert!(matches!(working, GetProductsResponseUnion::Working(_)));
        assert_eq!(working.status(), "working");
        let success: GetProductsResponseUnion =
            serde_json::from_value(json!({"products": [], "cache_scope": "public"})).unwrap();
        assert!(matches!(success, GetProductsResponseUnion::Success(_)));
    }

    #[test]
    fn get_signals_has_no_input_required_arm() {
        let payload =
            json!({"status": "input-required", "task_id": "t", "reason": "CLARIFICATION_NEEDED"});
        let products: Result<GetProductsResponseUnion, _> = serde_json::from_value(payload.clone());
        assert!(
            matches!(products, Ok(GetProductsResponseUnion::InputRequired(_))),
            "{products:?}"
        );
        let signals: Result<GetSignalsResponseUnion, _> = serde_json::from_value(payload);
        let message = signals.unwrap_err().to_string();
        assert!(message.contains("not an arm of get_signals"), "{message}");
    }

    #[test]
    fn arms_round_trip() {
        let payload = json!({"status": "submitted", "task_id": "task_9", "context": {"k": 1}});
        let parsed: GetSignalsResponseUnion = serde_json::from_value(payload.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), payload);
    }
}
