//! The brand protocol (`brand-rights`): brand identity, rights licensing and brand claims.
//! Feature `brand`.

use adcp_types::generated::{
    AcquireRightsRequest, AcquireRightsResponse, CreativeApprovalRequest, CreativeApprovalResponse,
    GetBrandIdentityRequest, GetBrandIdentityResponse, GetRightsRequest, GetRightsResponse,
    SearchBrandsRequest, SearchBrandsResponse, UpdateRightsRequest, UpdateRightsResponse,
    VerifyBrandClaimRequest, VerifyBrandClaimResponse, VerifyBrandClaimsRequest,
    VerifyBrandClaimsResponse,
};

use super::family::platform_family;

platform_family! {
    /// A brand agent: identity, rights licensing, creative approval and brand claims.
    trait BrandRightsPlatform;
    /// The tools a [`BrandRightsPlatform`] can serve.
    enum BrandRightsTool;
    fn brand_rights_handlers;
    /// The brand's identity sections. May hand off.
    task GetBrandIdentity => get_brand_identity(GetBrandIdentityRequest) -> GetBrandIdentityResponse;
    /// Searches brands. May hand off.
    task SearchBrands => search_brands(SearchBrandsRequest) -> SearchBrandsResponse;
    /// The rights on offer. May hand off.
    task GetRights => get_rights(GetRightsRequest) -> GetRightsResponse;
    /// Licenses rights. May hand off (human review).
    task AcquireRights => acquire_rights(AcquireRightsRequest) -> AcquireRightsResponse;
    /// Changes licensed rights.
    sync UpdateRights => update_rights(UpdateRightsRequest) -> UpdateRightsResponse;
    /// Approves or rejects a creative using licensed rights.
    sync CreativeApproval => creative_approval(CreativeApprovalRequest) -> CreativeApprovalResponse;
    /// Verifies one brand claim.
    sync VerifyBrandClaim => verify_brand_claim(VerifyBrandClaimRequest) -> VerifyBrandClaimResponse;
    /// Verifies several brand claims.
    sync VerifyBrandClaims => verify_brand_claims(VerifyBrandClaimsRequest) -> VerifyBrandClaimsResponse;
}
