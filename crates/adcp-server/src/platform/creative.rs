//! The creative specialisms (`creative-ad-server`, `creative-generative`, `creative-template`,
//! `creative-transformers`).

use adcp_types::generated::{
    BuildCreativeRequest, BuildCreativeResponse, GetCreativeDeliveryRequest,
    GetCreativeDeliveryResponse, GetCreativeFeaturesRequest, GetCreativeFeaturesResponse,
    ListCreativesRequest, ListCreativesResponse, ListTransformersRequest, ListTransformersResponse,
    PreviewCreativeRequest, PreviewCreativeResponse, ValidateInputRequest, ValidateInputResponse,
};

use super::family::platform_family;

platform_family! {
    /// A creative agent: builds, previews, validates and serves creatives. `sync_creatives`
    /// and `list_creative_formats` live on [`SalesPlatform`](crate::SalesPlatform); serve them
    /// there (or with [`AdcpServerBuilder::tool`](crate::AdcpServerBuilder::tool)) when a
    /// creative agent needs them too.
    trait CreativePlatform;
    /// The tools a [`CreativePlatform`] can serve.
    enum CreativeTool;
    fn creative_handlers;
    /// Builds a creative from a brief, assets or a template. Synchronous here: the schemas
    /// define async arms for `build_creative`, but it is not a protocol task type
    /// (`enums/task-type.json`), so a task for it could not be listed or pushed as a webhook.
    /// A slow build can be served with [`ToolHandler`](crate::ToolHandler) instead.
    sync BuildCreative => build_creative(BuildCreativeRequest) -> BuildCreativeResponse;
    /// Renders previews of a creative.
    sync PreviewCreative => preview_creative(PreviewCreativeRequest) -> PreviewCreativeResponse;
    /// The creatives in the library.
    sync ListCreatives => list_creatives(ListCreativesRequest) -> ListCreativesResponse;
    /// Delivery of creatives. May hand off (report generation).
    task GetCreativeDelivery => get_creative_delivery(GetCreativeDeliveryRequest) -> GetCreativeDeliveryResponse;
    /// Features detected in a creative.
    sync GetCreativeFeatures => get_creative_features(GetCreativeFeaturesRequest) -> GetCreativeFeaturesResponse;
    /// The transformers an account may apply.
    sync ListTransformers => list_transformers(ListTransformersRequest) -> ListTransformersResponse;
    /// Checks creative inputs before a build.
    sync ValidateInput => validate_input(ValidateInputRequest) -> ValidateInputResponse;
}
