//! The governance specialisms (`property-lists`, `collection-lists`, `content-standards`,
//! `governance-spend-authority`, `governance-delivery-monitor`). Feature `governance`.

use adcp_types::generated::{
    CalibrateContentRequest, CalibrateContentResponse, CheckGovernanceRequest,
    CheckGovernanceResponse, CreateCollectionListRequest, CreateCollectionListResponse,
    CreateContentStandardsRequest, CreateContentStandardsResponse, CreatePropertyListRequest,
    CreatePropertyListResponse, DeleteCollectionListRequest, DeleteCollectionListResponse,
    DeletePropertyListRequest, DeletePropertyListResponse, GetCollectionListRequest,
    GetCollectionListResponse, GetContentStandardsRequest, GetContentStandardsResponse,
    GetMediaBuyArtifactsRequest, GetMediaBuyArtifactsResponse, GetPlanAuditLogsRequest,
    GetPlanAuditLogsResponse, GetPropertyListRequest, GetPropertyListResponse,
    ListCollectionListsRequest, ListCollectionListsResponse, ListContentStandardsRequest,
    ListContentStandardsResponse, ListPropertyListsRequest, ListPropertyListsResponse,
    ReportPlanOutcomeRequest, ReportPlanOutcomeResponse, SyncPlansRequest, SyncPlansResponse,
    UpdateCollectionListRequest, UpdateCollectionListResponse, UpdateContentStandardsRequest,
    UpdateContentStandardsResponse, UpdatePropertyListRequest, UpdatePropertyListResponse,
    ValidateContentDeliveryRequest, ValidateContentDeliveryResponse,
    ValidatePropertyDeliveryRequest, ValidatePropertyDeliveryResponse,
};

use super::family::platform_family;

platform_family! {
    /// A governance agent: property and collection lists, content standards, and campaign
    /// governance (plans, spend approval, delivery monitoring).
    trait GovernancePlatform;
    /// The tools a [`GovernancePlatform`] can serve.
    enum GovernanceTool;
    fn governance_handlers;
    /// Creates a property list. May hand off.
    task CreatePropertyList => create_property_list(CreatePropertyListRequest) -> CreatePropertyListResponse;
    /// Updates a property list. May hand off.
    task UpdatePropertyList => update_property_list(UpdatePropertyListRequest) -> UpdatePropertyListResponse;
    /// One property list, optionally resolved. May hand off.
    task GetPropertyList => get_property_list(GetPropertyListRequest) -> GetPropertyListResponse;
    /// The property lists of an account. May hand off.
    task ListPropertyLists => list_property_lists(ListPropertyListsRequest) -> ListPropertyListsResponse;
    /// Deletes a property list. May hand off.
    task DeletePropertyList => delete_property_list(DeletePropertyListRequest) -> DeletePropertyListResponse;
    /// Checks delivered properties against a list.
    sync ValidatePropertyDelivery => validate_property_delivery(ValidatePropertyDeliveryRequest) -> ValidatePropertyDeliveryResponse;
    /// Creates a collection list.
    sync CreateCollectionList => create_collection_list(CreateCollectionListRequest) -> CreateCollectionListResponse;
    /// Updates a collection list.
    sync UpdateCollectionList => update_collection_list(UpdateCollectionListRequest) -> UpdateCollectionListResponse;
    /// One collection list.
    sync GetCollectionList => get_collection_list(GetCollectionListRequest) -> GetCollectionListResponse;
    /// The collection lists of an account.
    sync ListCollectionLists => list_collection_lists(ListCollectionListsRequest) -> ListCollectionListsResponse;
    /// Deletes a collection list.
    sync DeleteCollectionList => delete_collection_list(DeleteCollectionListRequest) -> DeleteCollectionListResponse;
    /// Creates content standards.
    sync CreateContentStandards => create_content_standards(CreateContentStandardsRequest) -> CreateContentStandardsResponse;
    /// Updates content standards.
    sync UpdateContentStandards => update_content_standards(UpdateContentStandardsRequest) -> UpdateContentStandardsResponse;
    /// One set of content standards.
    sync GetContentStandards => get_content_standards(GetContentStandardsRequest) -> GetContentStandardsResponse;
    /// The content standards of an account.
    sync ListContentStandards => list_content_standards(ListContentStandardsRequest) -> ListContentStandardsResponse;
    /// Calibrates content against standards.
    sync CalibrateContent => calibrate_content(CalibrateContentRequest) -> CalibrateContentResponse;
    /// Checks delivered content against standards.
    sync ValidateContentDelivery => validate_content_delivery(ValidateContentDeliveryRequest) -> ValidateContentDeliveryResponse;
    /// The artifacts a media buy delivered against.
    sync GetMediaBuyArtifacts => get_media_buy_artifacts(GetMediaBuyArtifactsRequest) -> GetMediaBuyArtifactsResponse;
    /// Approves, conditions or denies a governed action.
    sync CheckGovernance => check_governance(CheckGovernanceRequest) -> CheckGovernanceResponse;
    /// Registers campaign plans.
    sync SyncPlans => sync_plans(SyncPlansRequest) -> SyncPlansResponse;
    /// Records the outcome of a governed action.
    sync ReportPlanOutcome => report_plan_outcome(ReportPlanOutcomeRequest) -> ReportPlanOutcomeResponse;
    /// The audit log of a plan.
    sync GetPlanAuditLogs => get_plan_audit_logs(GetPlanAuditLogsRequest) -> GetPlanAuditLogsResponse;
}
