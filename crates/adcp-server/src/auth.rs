//! Caller authentication: who is calling, decided from the HTTP request's headers.

use std::collections::BTreeMap;
use std::fmt;

use adcp_types::{AdcpError, codes};
use async_trait::async_trait;
use http::HeaderMap;
use http::header::AUTHORIZATION;

/// An authenticated caller. Tasks are owned by (account, principal), so one principal can never
/// read another's tasks. Ids are compared exactly; choose ids that cannot collide across
/// authentication schemes (e.g. `api_key:<id>`, `oauth:<client>`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    id: String,
}

impl Principal {
    /// A principal with this id.
    pub fn new(id: impl Into<String>) -> Self {
        Self { id: id.into() }
    }

    /// Its id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Principal").field(&self.id).finish()
    }
}

/// The owner id of tasks, idempotency keys and sandbox directives for `principal`:
/// its id, or `anonymous` for unauthenticated callers (who therefore share one owner).
pub(crate) fn owner_of(principal: Option<&Principal>) -> &str {
    principal.map_or("anonymous", Principal::id)
}

/// Decides who is calling from request headers.
///
/// `Ok(None)`: no credentials were presented. `Err`: credentials were presented and are not
/// valid (sent as HTTP 401 with `AUTH_INVALID`). Implementations must not log the credential.
#[async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// Authenticates one HTTP request.
    async fn authenticate(&self, headers: &HeaderMap) -> Result<Option<Principal>, AdcpError>;
}

/// Static bearer tokens, each mapped to a principal. Reads `Authorization: Bearer <token>` and
/// the older `x-adcp-auth: <token>`. Tokens are kept and looked up as SHA-256 digests, so the
/// lookup's timing does not depend on how much of a guessed token matches.
#[derive(Clone, Default)]
pub struct BearerTokens {
    tokens: BTreeMap<[u8; 32], Principal>,
}

fn digest(token: &str) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(token.as_bytes()).into()
}

impl fmt::Debug for BearerTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerTokens")
            .field("principals", &self.tokens.values().collect::<Vec<_>>())
            .finish()
    }
}

impl BearerTokens {
    /// No tokens yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts `token` as `principal`.
    #[must_use]
    pub fn with_token(mut self, token: impl Into<String>, principal: Principal) -> Self {
        self.tokens.insert(digest(&token.into()), principal);
        self
    }
}

/// The bearer token of a request, if it presents one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, token) = value.trim().split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim())
            .filter(|t| !t.is_empty());
    }
    headers
        .get("x-adcp-auth")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

#[async_trait]
impl Authenticator for BearerTokens {
    async fn authenticate(&self, headers: &HeaderMap) -> Result<Option<Principal>, AdcpError> {
        let presented = headers.contains_key(AUTHORIZATION) || headers.contains_key("x-adcp-auth");
        match bearer_token(headers) {
            Some(token) => match self.tokens.get(&digest(token)) {
                Some(principal) => Ok(Some(principal.clone())),
                None => Err(auth_invalid()),
            },
            None if presented => Err(auth_invalid()),
            None => Ok(None),
        }
    }
}

fn auth_invalid() -> AdcpError {
    AdcpError::new(
        codes::AUTH_INVALID,
        "the presented credentials are not valid",
    )
}

/// The error for a call that needs credentials and presented none: `AUTH_MISSING`
/// (`correctable`: send credentials and retry).
///
/// rc.9 (`enums/error-code.json`): sellers MUST return `AUTH_MISSING` when no `Authorization`
/// header was included; `AUTH_REQUIRED` is deprecated, kept only as an alias buyers may still
/// receive from older sellers. Credentials presented and rejected are `AUTH_INVALID` instead.
pub fn auth_required() -> AdcpError {
    AdcpError::new(
        codes::AUTH_MISSING,
        "this agent requires authentication: send `Authorization: Bearer <token>`",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[tokio::test]
    async fn bearer_tokens_map_to_principals() {
        let auth = BearerTokens::new().with_token("s3cret", Principal::new("buyer-a"));
        let ok = auth
            .authenticate(&headers(&[("authorization", "Bearer s3cret")]))
            .await;
        assert_eq!(ok.unwrap().unwrap().id(), "buyer-a");
        let legacy = auth
            .authenticate(&headers(&[("x-adcp-auth", "s3cret")]))
            .await;
        assert_eq!(legacy.unwrap().unwrap().id(), "buyer-a");
        assert!(auth.authenticate(&headers(&[])).await.unwrap().is_none());
        let wrong = auth
            .authenticate(&headers(&[("authorization", "Bearer nope")]))
            .await;
        assert_eq!(wrong.unwrap_err().code, codes::AUTH_INVALID);
        let basic = auth
            .authenticate(&headers(&[("authorization", "Basic abc")]))
            .await;
        assert_eq!(basic.unwrap_err().code, codes::AUTH_INVALID);
    }

    #[test]
    fn missing_credentials_are_auth_missing_and_correctable() {
        let missing = auth_required();
        assert_eq!(missing.code, codes::AUTH_MISSING);
        assert_ne!(missing.code, codes::AUTH_REQUIRED);
        assert_eq!(missing.recovery, adcp_types::Recovery::Correctable);
        assert_eq!(missing.to_value()["recovery"], "correctable");
    }

    #[test]
    fn rejected_credentials_are_auth_invalid_and_terminal() {
        let invalid = auth_invalid();
        assert_eq!(invalid.code, codes::AUTH_INVALID);
        assert_eq!(invalid.recovery, adcp_types::Recovery::Terminal);
    }
}
