//! One agent, as the commands reach it: its URL and protocol, the credentials and extra headers
//! given on the command line, tool calls with every HTTP failure explained.
//!
//! Tool calls go through `adcp_conformance::probe` (one JSON-RPC exchange per call, over MCP or
//! A2A) rather than a long-lived MCP session, so the status code and `WWW-Authenticate` of
//! a refused request are seen and reported. Tool listing over MCP uses rmcp's client, because
//! `tools/list` is what it does well; a failure there is explained by one probe.

use std::time::Duration;

use adcp_conformance::client::ToolResponse;
use adcp_conformance::{Protocol, a2a, probe};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use rmcp::ServiceExt as _;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use crate::cli::AgentArgs;
use crate::diagnose;
use crate::error::CliError;

/// A tool (MCP) or skill (A2A) the agent advertises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ToolInfo {
    /// The tool name (the skill id over A2A).
    pub(crate) name: String,
    /// Its description, when the agent gives one.
    pub(crate) description: Option<String>,
}

/// A connection profile for one agent.
///
/// Guarantees: every request carries the `-H` headers and, when given, `Authorization: Bearer
/// <token>`; no redirect is followed; no request outlives the timeout.
#[derive(Debug, Clone)]
pub(crate) struct Agent {
    url: String,
    protocol: Protocol,
    bearer: Option<String>,
    has_auth_header: bool,
    timeout: Duration,
    http: reqwest::Client,
}

impl Agent {
    /// Checks the URL and headers of `args` and builds the HTTP client.
    pub(crate) fn connect(args: &AgentArgs) -> Result<Self, CliError> {
        check_url(&args.url)?;
        let mut headers = HeaderMap::new();
        for (name, value) in &args.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| CliError::Usage(format!("`{name}` is not a valid header name")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| CliError::Usage(format!("the value of header {name} is not valid")))?;
            headers.append(name, value);
        }
        let has_auth_header = headers.contains_key(AUTHORIZATION);
        let timeout = args.request_timeout();
        Ok(Self {
            url: args.url.clone(),
            protocol: args.protocol,
            bearer: args.auth.clone().filter(|t| !t.is_empty()),
            has_auth_header,
            timeout,
            http: diagnose::http_client(timeout, headers)?,
        })
    }

    /// The agent's endpoint.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The protocol it is reached over.
    pub(crate) fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The HTTP client (with the command line's headers), for JWKS and brand.json fetches.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    fn authorization(&self) -> Option<String> {
        self.bearer.as_ref().map(|token| format!("Bearer {token}"))
    }

    fn had_credentials(&self) -> bool {
        self.bearer.is_some() || self.has_auth_header
    }

    /// Calls `tool` with `arguments`. A JSON-RPC or AdCP error from the agent is an `Ok`
    /// response (the caller prints it); no answer, a 401, or a non-agent answer is an `Err`.
    pub(crate) async fn call(
        &self,
        tool: &str,
        arguments: &Value,
    ) -> Result<ToolResponse, CliError> {
        let authorization = self.authorization();
        let (observation, response) = probe::raw_call(
            self.protocol,
            &self.http,
            &self.url,
            authorization.as_deref(),
            tool,
            arguments,
        )
        .await;
        diagnose::check(
            &self.http,
            &observation,
            response.is_some(),
            self.had_credentials(),
            self.protocol,
        )
        .await?;
        response.ok_or_else(|| CliError::Agent {
            url: self.url.clone(),
            detail: format!("no answer to {tool}"),
        })
    }

    /// The tools the agent advertises, in its order.
    pub(crate) async fn tools(&self) -> Result<Vec<ToolInfo>, CliError> {
        match self.protocol {
            Protocol::A2a => self.agent_card_skills().await,
            _ => self.mcp_tools().await,
        }
    }

    /// MCP `tools/list` (every page) over one short-lived session.
    async fn mcp_tools(&self) -> Result<Vec<ToolInfo>, CliError> {
        let mut config = StreamableHttpClientTransportConfig::with_uri(self.url.clone());
        if let Some(token) = &self.bearer {
            config = config.auth_header(token.clone());
        }
        let transport = StreamableHttpClientTransport::with_client(self.http.clone(), config);
        let listing = async {
            let service = ().serve(transport).await.map_err(|e| root_cause(&e))?;
            let tools = service.list_all_tools().await.map_err(|e| root_cause(&e));
            // Closing the session is a courtesy; its outcome does not change the listing.
            let _ = service.cancel().await;
            tools
        };
        let outcome = tokio::time::timeout(self.timeout, listing)
            .await
            .unwrap_or_else(|_| Err("tools/list timed out".to_owned()));
        match outcome {
            Ok(tools) => Ok(tools
                .into_iter()
                .map(|tool| ToolInfo {
                    name: tool.name.into_owned(),
                    description: tool.description.map(|d| d.trim().to_owned()),
                })
                .collect()),
            Err(detail) => Err(self.explain(detail).await),
        }
    }

    /// Why the MCP client failed: one probe call (MCP `initialize` then a read-only
    /// `get_adcp_capabilities`) shows the HTTP status the client hid.
    async fn explain(&self, client_error: String) -> CliError {
        match self.call("get_adcp_capabilities", &json!({})).await {
            Err(error) => error,
            Ok(_) => CliError::Agent {
                url: self.url.clone(),
                detail: format!("tools/list failed: {client_error}"),
            },
        }
    }

    /// The A2A agent card's skills, from the first well-known path that serves a card.
    async fn agent_card_skills(&self) -> Result<Vec<ToolInfo>, CliError> {
        let urls = a2a::agent_card_urls(&self.url)
            .ok_or_else(|| CliError::Usage(format!("{} is not an absolute URL", self.url)))?;
        let mut last = None;
        for url in urls {
            let observation = probe::get(&self.http, &url).await;
            if (200..300).contains(&observation.status)
                && let Some(skills) = observation.body.as_ref().and_then(skills_of)
            {
                return Ok(skills);
            }
            last = Some(observation);
        }
        let Some(observation) = last else {
            return Err(CliError::Usage(format!("{} has no origin", self.url)));
        };
        diagnose::check(
            &self.http,
            &observation,
            false,
            self.had_credentials(),
            Protocol::A2a,
        )
        .await?;
        Err(CliError::NotAdcp {
            url: self.url.clone(),
            detail: "no A2A agent card with skills at /.well-known/agent-card.json or /.well-known/agent.json".to_owned(),
        })
    }
}

/// The skills of an agent card: `skills[].id` (else `name`) with `description`.
fn skills_of(card: &Value) -> Option<Vec<ToolInfo>> {
    let skills = card.get("skills")?.as_array()?;
    Some(
        skills
            .iter()
            .filter_map(|skill| {
                let name = skill
                    .get("id")
                    .or_else(|| skill.get("name"))
                    .and_then(Value::as_str)?;
                Some(ToolInfo {
                    name: name.to_owned(),
                    description: skill
                        .get("description")
                        .and_then(Value::as_str)
                        .map(|d| d.trim().to_owned()),
                })
            })
            .collect(),
    )
}

/// Refuses anything but an absolute `http://` or `https://` URL, saying why.
pub(crate) fn check_url(raw: &str) -> Result<url::Url, CliError> {
    let url = url::Url::parse(raw).map_err(|e| {
        CliError::Usage(format!(
            "`{raw}` is not a URL ({e}); give the agent's endpoint, e.g. http://127.0.0.1:3001/mcp"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(CliError::Usage(format!(
            "`{raw}` is not an http:// or https:// URL"
        )));
    }
    Ok(url)
}

/// The innermost message of an error chain (rmcp wraps transport failures in several layers).
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    crate::output::one_line(&current.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_http_urls_are_agents() {
        assert!(check_url("http://127.0.0.1:3001/mcp").is_ok());
        assert!(check_url("https://seller.example/mcp").is_ok());
        let relative = check_url("127.0.0.1:3001/mcp").unwrap_err().to_string();
        assert!(relative.contains("not"), "{relative}");
        assert!(check_url("ftp://x/y").is_err());
    }

    #[test]
    fn agent_card_skills_carry_descriptions() {
        let card = json!({"skills": [
            {"id": "get_products", "description": " Find products "},
            {"name": "get_signals"},
            {"description": "no id"}
        ]});
        let skills = skills_of(&card).unwrap();
        assert_eq!(skills.len(), 2);
        assert_eq!(skills[0].description.as_deref(), Some("Find products"));
        assert_eq!(skills[1].name, "get_signals");
        assert!(skills_of(&json!({"name": "x"})).is_none());
    }
}
