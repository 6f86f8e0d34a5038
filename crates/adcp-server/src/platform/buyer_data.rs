//! The buyer-data tools of the media-buy protocol: audiences, catalogs, event sources,
//! conversion events and performance feedback a buyer sends to a seller.

use adcp_types::generated::{
    LogEventRequest, LogEventResponse, ProvidePerformanceFeedbackRequest,
    ProvidePerformanceFeedbackResponse, SyncAudiencesRequest, SyncAudiencesResponse,
    SyncCatalogsRequest, SyncCatalogsResponse, SyncEventSourcesRequest, SyncEventSourcesResponse,
};

use super::family::platform_family;

platform_family! {
    /// First-party data and measurement (`audience-sync`, `sales-social`,
    /// `sales-catalog-driven`). Separate from [`SalesPlatform`](crate::SalesPlatform) because a
    /// social platform serves these without serving `get_products`.
    trait BuyerDataPlatform;
    /// The tools a [`BuyerDataPlatform`] can serve.
    enum BuyerDataTool;
    fn buyer_data_handlers;
    /// Uploads or updates audiences. May hand off (matching takes time).
    task SyncAudiences => sync_audiences(SyncAudiencesRequest) -> SyncAudiencesResponse;
    /// Uploads or updates product catalogs. May hand off (feed review).
    task SyncCatalogs => sync_catalogs(SyncCatalogsRequest) -> SyncCatalogsResponse;
    /// Registers conversion event sources. May hand off.
    task SyncEventSources => sync_event_sources(SyncEventSourcesRequest) -> SyncEventSourcesResponse;
    /// Records conversion events. May hand off.
    task LogEvent => log_event(LogEventRequest) -> LogEventResponse;
    /// Receives the buyer's performance feedback on a media buy.
    sync ProvidePerformanceFeedback => provide_performance_feedback(ProvidePerformanceFeedbackRequest) -> ProvidePerformanceFeedbackResponse;
}
