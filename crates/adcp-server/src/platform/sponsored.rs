//! The sponsored-intelligence protocol: sponsored conversational sessions. Feature
//! `sponsored-intelligence`.

use adcp_types::generated::{
    SiGetOfferingRequest, SiGetOfferingResponse, SiInitiateSessionRequest,
    SiInitiateSessionResponse, SiSendMessageRequest, SiSendMessageResponse,
    SiTerminateSessionRequest, SiTerminateSessionResponse,
};

use super::family::platform_family;

platform_family! {
    /// A sponsored-intelligence agent: offerings and sponsored conversation sessions.
    trait SponsoredIntelligencePlatform;
    /// The tools a [`SponsoredIntelligencePlatform`] can serve.
    enum SponsoredIntelligenceTool;
    fn sponsored_intelligence_handlers;
    /// The sponsored offering for a context.
    sync SiGetOffering => si_get_offering(SiGetOfferingRequest) -> SiGetOfferingResponse;
    /// Opens a session.
    sync SiInitiateSession => si_initiate_session(SiInitiateSessionRequest) -> SiInitiateSessionResponse;
    /// Sends a message in a session.
    sync SiSendMessage => si_send_message(SiSendMessageRequest) -> SiSendMessageResponse;
    /// Closes a session.
    sync SiTerminateSession => si_terminate_session(SiTerminateSessionRequest) -> SiTerminateSessionResponse;
}
