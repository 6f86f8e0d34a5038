//! The agent card (`/.well-known/agent-card.json`, and `/.well-known/agent.json` for older
//! clients): derived from the same tool table as MCP's `tools/list` and from the capabilities
//! the server answers `get_adcp_capabilities` with.

use std::collections::HashMap;

use a2a::{
    AgentCapabilities, AgentCard, AgentExtension, AgentInterface, AgentSkill,
    HttpAuthSecurityScheme, SecurityScheme,
};
use serde_json::{Map, Value};

use crate::server::AdcpServer;

/// The AdCP A2A profile extension agents declare on their card. It is declared not required:
/// buyers that do not activate it (A2A v0.3 clients, plain A2A SDKs) are served the same way.
pub(super) const ADCP_EXTENSION: &str = "https://adcontextprotocol.org/extensions/adcp/v3";

/// The name the bearer scheme is declared under.
const BEARER: &str = "bearer";

/// What the card says that does not depend on the request: everything but the URL.
#[derive(Debug, Clone)]
pub(super) struct CardTemplate {
    skills: Vec<AgentSkill>,
    push_notifications: bool,
    authenticated: bool,
    description: String,
}

impl CardTemplate {
    pub(super) fn new(server: &AdcpServer, authenticated: bool) -> Self {
        let capabilities = server.capabilities();
        let skills = server
            .tool_names()
            .into_iter()
            // A2A polls with its own `GetTask`; the legacy MCP polling tool is not a skill.
            .filter(|name| *name != "tasks/get")
            .map(skill)
            .collect();
        let protocols = capabilities
            .get("supported_protocols")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        Self {
            skills,
            push_notifications: server.accepts_push(),
            authenticated,
            description: format!(
                "An AdCP {} agent ({protocols}). Call a skill with a message whose DataPart is \
                 {{\"skill\": \"<tool>\", \"parameters\": {{…}}}}.",
                crate::SERVED_VERSION
            ),
        }
    }

    /// The card for an agent whose A2A endpoint is `endpoint`, as JSON: the A2A 1.0 card plus
    /// the v0.3 members (`url`, `preferredTransport`, `protocolVersion`) older clients read.
    pub(super) fn render(&self, endpoint: &str) -> Value {
        let (security_schemes, security_requirements) = if self.authenticated {
            let scheme = SecurityScheme::HttpAuth(HttpAuthSecurityScheme {
                scheme: "Bearer".to_owned(),
                description: Some(
                    "Authorization: Bearer <token> (x-adcp-auth is accepted too)".to_owned(),
                ),
                bearer_format: None,
            });
            (
                Some(HashMap::from([(BEARER.to_owned(), scheme)])),
                Some(vec![HashMap::from([(BEARER.to_owned(), Vec::new())])]),
            )
        } else {
            (None, None)
        };
        let card = AgentCard {
            name: "AdCP agent (adcp-rs)".to_owned(),
            description: self.description.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            supported_interfaces: vec![AgentInterface::new(endpoint, "JSONRPC")],
            capabilities: AgentCapabilities {
                streaming: Some(false),
                push_notifications: Some(self.push_notifications),
                extensions: Some(vec![AgentExtension {
                    uri: ADCP_EXTENSION.to_owned(),
                    description: Some("Ad Context Protocol tasks as A2A skills".to_owned()),
                    required: Some(false),
                    // The profile asks for no params; what the agent serves is in the skills
                    // and in `get_adcp_capabilities`.
                    params: None,
                }]),
                extended_agent_card: Some(false),
            },
            default_input_modes: vec!["application/json".to_owned()],
            default_output_modes: vec!["application/json".to_owned()],
            skills: self.skills.clone(),
            provider: None,
            documentation_url: None,
            icon_url: None,
            security_schemes,
            security_requirements,
            signatures: None,
        };
        let mut json = match serde_json::to_value(&card) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        json.insert("url".to_owned(), Value::String(endpoint.to_owned()));
        json.insert(
            "preferredTransport".to_owned(),
            Value::String("JSONRPC".to_owned()),
        );
        json.insert(
            "protocolVersion".to_owned(),
            Value::String(a2a::VERSION.to_owned()),
        );
        if self.authenticated {
            // v0.3 readers look for OpenAPI-style members on the scheme and a top-level
            // `security`; 1.0 readers ignore both.
            if let Some(Value::Object(scheme)) = json
                .get_mut("securitySchemes")
                .and_then(|schemes| schemes.get_mut(BEARER))
            {
                scheme.insert("type".to_owned(), Value::String("http".to_owned()));
                scheme.insert("scheme".to_owned(), Value::String("bearer".to_owned()));
            }
            json.insert("security".to_owned(), serde_json::json!([{ BEARER: [] }]));
        }
        Value::Object(json)
    }
}

/// The skill for one tool: its id and name are the tool name, tagged with its protocol.
fn skill(name: &'static str) -> AgentSkill {
    let spec = adcp_types::manifest::tool(name);
    let description = spec.map_or_else(
        || format!("AdCP task `{name}`."),
        |spec| {
            format!(
                "AdCP {} task `{name}`; parameters follow /schemas/{}/{}",
                spec.protocol,
                adcp_types::ADCP_VERSION,
                spec.request_schema
            )
        },
    );
    let tags = spec.map_or_else(
        || vec!["adcp".to_owned()],
        |spec| vec!["adcp".to_owned(), spec.protocol.to_string()],
    );
    AgentSkill {
        id: name.to_owned(),
        name: name.to_owned(),
        description,
        tags,
        examples: None,
        input_modes: Some(vec!["application/json".to_owned()]),
        output_modes: Some(vec!["application/json".to_owned()]),
        security_requirements: None,
    }
}
