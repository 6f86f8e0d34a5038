//! The sales specialisms (`sales-non-guaranteed`, `sales-guaranteed`, ...): products, media
//! buys, creatives, delivery.

use adcp_types::AdcpError;
use adcp_types::generated::{
    CreateMediaBuyRequest, CreateMediaBuyResponse, GetMediaBuyDeliveryRequest,
    GetMediaBuyDeliveryResponse, GetMediaBuysRequest, GetMediaBuysResponse, GetProductsRequest,
    GetProductsResponse, MediaBuyListCreativeFormatsRequest, MediaBuyListCreativeFormatsResponse,
    SyncCreativesRequest, SyncCreativesResponse, UpdateMediaBuyRequest, UpdateMediaBuyResponse,
};
use async_trait::async_trait;

use super::{DiscoveryResult, TaskResult, not_implemented};
use crate::call::CallContext;

/// The tools a [`SalesPlatform`] can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SalesTool {
    /// `get_products` (brief, wholesale and refine).
    GetProducts,
    /// `create_media_buy`.
    CreateMediaBuy,
    /// `update_media_buy`.
    UpdateMediaBuy,
    /// `sync_creatives`.
    SyncCreatives,
    /// `get_media_buy_delivery`.
    GetMediaBuyDelivery,
    /// `get_media_buys`.
    GetMediaBuys,
    /// `list_creative_formats`.
    ListCreativeFormats,
}

impl SalesTool {
    /// Every sales tool.
    pub const ALL: [Self; 7] = [
        Self::GetProducts,
        Self::CreateMediaBuy,
        Self::UpdateMediaBuy,
        Self::SyncCreatives,
        Self::GetMediaBuyDelivery,
        Self::GetMediaBuys,
        Self::ListCreativeFormats,
    ];

    /// The wire tool name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::GetProducts => "get_products",
            Self::CreateMediaBuy => "create_media_buy",
            Self::UpdateMediaBuy => "update_media_buy",
            Self::SyncCreatives => "sync_creatives",
            Self::GetMediaBuyDelivery => "get_media_buy_delivery",
            Self::GetMediaBuys => "get_media_buys",
            Self::ListCreativeFormats => "list_creative_formats",
        }
    }
}

/// A seller of media: what a publisher or retail media network implements.
///
/// Only [`SalesPlatform::get_products`] is required. List every other tool you implement in
/// [`SalesPlatform::tools`]; the server exposes exactly those, and refuses to start when a
/// claimed specialism needs one you did not list.
///
/// Protocol rules the server enforces around these methods:
/// - wholesale discovery (`buying_mode: "wholesale"`) must answer synchronously: a handoff is
///   rejected with `INVALID_REQUEST` (`field: buying_mode`); report partial results with
///   `incomplete[]`;
/// - a handoff needs a resolved account;
/// - mutating tools require an `idempotency_key`; replays are answered from the idempotency
///   store without calling you again.
#[async_trait]
pub trait SalesPlatform: Send + Sync + 'static {
    /// The tools this platform serves (always including `get_products`).
    fn tools(&self) -> Vec<SalesTool> {
        vec![SalesTool::GetProducts]
    }

    /// Product discovery in `brief` or `wholesale` mode. Brief mode may hand off.
    async fn get_products(
        &self,
        request: GetProductsRequest,
        ctx: &CallContext,
    ) -> Result<DiscoveryResult<GetProductsResponse>, AdcpError>;

    /// Product discovery in `refine` mode (proposal iteration and finalize). Defaults to
    /// [`SalesPlatform::get_products`]. May hand off; its terminal webhook is delivered like
    /// any other.
    async fn refine_get_products(
        &self,
        request: GetProductsRequest,
        ctx: &CallContext,
    ) -> Result<DiscoveryResult<GetProductsResponse>, AdcpError> {
        self.get_products(request, ctx).await
    }

    /// Creates a media buy. May hand off (e.g. human review).
    async fn create_media_buy(
        &self,
        request: CreateMediaBuyRequest,
        ctx: &CallContext,
    ) -> Result<TaskResult<CreateMediaBuyResponse>, AdcpError> {
        let _ = (request, ctx);
        Err(not_implemented("create_media_buy"))
    }

    /// Updates a media buy. May hand off.
    async fn update_media_buy(
        &self,
        request: UpdateMediaBuyRequest,
        ctx: &CallContext,
    ) -> Result<TaskResult<UpdateMediaBuyResponse>, AdcpError> {
        let _ = (request, ctx);
        Err(not_implemented("update_media_buy"))
    }

    /// Syncs creatives. May hand off.
    async fn sync_creatives(
        &self,
        request: SyncCreativesRequest,
        ctx: &CallContext,
    ) -> Result<TaskResult<SyncCreativesResponse>, AdcpError> {
        let _ = (request, ctx);
        Err(not_implemented("sync_creatives"))
    }

    /// Delivery reporting.
    async fn get_media_buy_delivery(
        &self,
        request: GetMediaBuyDeliveryRequest,
        ctx: &CallContext,
    ) -> Result<GetMediaBuyDeliveryResponse, AdcpError> {
        let _ = (request, ctx);
        Err(not_implemented("get_media_buy_delivery"))
    }

    /// Lists media buys.
    async fn get_media_buys(
        &self,
        request: GetMediaBuysRequest,
        ctx: &CallContext,
    ) -> Result<GetMediaBuysResponse, AdcpError> {
        let _ = (request, ctx);
        Err(not_implemented("get_media_buys"))
    }

    /// Lists the creative formats this seller accepts.
    async fn list_creative_formats(
        &self,
        request: MediaBuyListCreativeFormatsRequest,
        ctx: &CallContext,
    ) -> Result<MediaBuyListCreativeFormatsResponse, AdcpError> {
        let _ = (request, ctx);
        Err(not_implemented("list_creative_formats"))
    }
}
