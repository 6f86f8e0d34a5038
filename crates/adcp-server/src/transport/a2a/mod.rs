//! The A2A binding: JSON-RPC 2.0 at `POST /a2a` with the A2A 1.0 method names (`SendMessage`,
//! `GetTask`, `CancelTask`, `ListTasks`; the v0.3 names `message/send`, `tasks/get`,
//! `tasks/cancel`, `tasks/list` answer in v0.3 shapes) and the agent card. Only this module
//! knows A2A.
//!
//! Every skill runs through [`AdcpServer::call_tool`], so guards, idempotency, account
//! resolution, strict validation and context echo are exactly MCP's. `GetTask` reads the
//! registry through `get_task_status` and `CancelTask` through [`AdcpServer::cancel_task`],
//! scoped the same way (another principal's task is indistinguishable from an unknown id).
//! The edge is MCP's too: authentication, the `Host` allow-list, the body limit and read
//! timeout, and the connection limits and drain of [`crate::run`].

mod card;
mod legacy;
mod wire;

use std::sync::Arc;

use adcp_types::{AdcpError, codes};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::auth::{Principal, auth_required};
use crate::dispatch::ToolReply;
use crate::server::AdcpServer;
use crate::transport::http::{
    EdgeConfig, authenticate, forbidden_host, json_response, parse_message, read_body, rpc_error,
    unauthorized,
};
use crate::transport::jsonrpc::{self, INVALID_PARAMS, INVALID_REQUEST};
use card::CardTemplate;
use legacy::Dialect;
use wire::Unreadable;

/// JSON-RPC's code for an unknown method.
const METHOD_NOT_FOUND: i64 = -32601;
/// JSON-RPC's code for a server-side fault.
const INTERNAL_ERROR: i64 = -32603;

#[derive(Clone)]
struct A2a {
    server: AdcpServer,
    /// Shared, not copied: axum clones the state for every request.
    config: Arc<EdgeConfig>,
    card: Arc<CardTemplate>,
}

/// The A2A routes for `server`: `POST /a2a` and the agent card's two well-known paths.
pub(crate) fn routes(server: &AdcpServer, config: Arc<EdgeConfig>) -> Router {
    let card = Arc::new(CardTemplate::new(server, config.authenticator.is_some()));
    let state = A2a {
        server: server.clone(),
        config,
        card,
    };
    Router::new()
        .route("/a2a", post(serve_rpc))
        .route("/.well-known/agent-card.json", get(serve_card))
        .route("/.well-known/agent.json", get(serve_card))
        .with_state(state)
}

/// `GET /.well-known/agent-card.json`: public, behind the `Host` allow-list.
async fn serve_card(State(a2a): State<A2a>, request: Request) -> Response {
    let headers = request.headers();
    if !a2a.config.hosts.allows(request.uri(), headers) {
        return forbidden_host(&Value::Null);
    }
    let base = a2a.config.public_url.clone().unwrap_or_else(|| {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("localhost");
        format!("http://{host}")
    });
    let endpoint = format!("{}/a2a", base.trim_end_matches('/'));
    json_response(StatusCode::OK, &a2a.card.render(&endpoint))
}

/// A JSON-RPC success answer, serialised straight from `result` (no intermediate JSON tree:
/// a skill's reply is the largest thing this agent writes).
fn rpc_result(id: &Value, result: &impl Serialize) -> Response {
    #[derive(Serialize)]
    struct Answer<'a, T> {
        jsonrpc: &'static str,
        id: &'a Value,
        result: &'a T,
    }
    json_response(
        StatusCode::OK,
        &Answer {
            jsonrpc: "2.0",
            id,
            result,
        },
    )
}

/// The answer to a `GetTask` or `CancelTask`: `task` in the caller's dialect.
fn task_result(id: &Value, dialect: Dialect, task: &a2a::Task) -> Response {
    match dialect {
        Dialect::V1 => rpc_result(id, task),
        Dialect::V03 => rpc_result(id, &dialect.task(task_json(task))),
    }
}

/// The answer to a `SendMessage`: `task` in the caller's dialect.
fn send_answer(id: &Value, dialect: Dialect, task: &a2a::Task) -> Response {
    match dialect {
        Dialect::V1 => rpc_result(id, &legacy::SendResult { task }),
        Dialect::V03 => rpc_result(id, &dialect.send_result(task_json(task))),
    }
}

/// A JSON-RPC error answered with HTTP 200 (an A2A-level error about a well-formed request),
/// its AdCP error in `error.data.adcp_error`.
fn rpc_failure(id: &Value, code: i64, error: &AdcpError) -> Response {
    rpc_error(StatusCode::OK, id, code, error)
}

/// `POST /a2a`: the edge checks ([`read_request`]), the A2A version, then the method.
async fn serve_rpc(State(a2a): State<A2a>, request: Request) -> Response {
    let (headers, principal, message) = match read_request(&a2a.config, request).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    // A2A has no notifications: a request without an `id` would run with no answer to read.
    let Some(id) = message.get("id").filter(|id| !id.is_null()).cloned() else {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            &Value::Null,
            INVALID_REQUEST,
            &AdcpError::invalid_request("an A2A request needs an `id` (A2A has no notifications)")
                .with_field("id"),
        );
    };
    let Some(method) = jsonrpc::method(&message) else {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            &id,
            INVALID_REQUEST,
            &AdcpError::invalid_request("an A2A request needs a `method`").with_field("method"),
        );
    };
    let params = message
        .get("params")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    if let Some(version) = headers
        .get("a2a-version")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && !v.starts_with("0.") && !v.starts_with("1."))
    {
        return rpc_failure(
            &id,
            i64::from(a2a::error_code::VERSION_NOT_SUPPORTED),
            &AdcpError::new(
                codes::UNSUPPORTED_FEATURE,
                format!("A2A version {version} is not served; this agent speaks 1.0 and 0.3"),
            )
            .with_field("A2A-Version"),
        );
    }
    let call = Call {
        a2a: &a2a,
        id: &id,
        principal,
        dialect: Dialect::of(method),
    };
    let mut response = call.answer(method, &params).await;
    // A buyer that activated the AdCP profile extension sees it echoed, as A2A asks.
    let activated = headers
        .get_all("a2a-extensions")
        .iter()
        .chain(headers.get_all("x-a2a-extensions"))
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|uri| uri.trim() == card::ADCP_EXTENSION);
    if activated {
        response.headers_mut().insert(
            "a2a-extensions",
            HeaderValue::from_static(card::ADCP_EXTENSION),
        );
    }
    response
}

/// The edge checks in MCP's order — host, credentials, content type, body size and arrival
/// time, JSON, JSON-RPC shape — answering the request's headers, caller and message.
async fn read_request(
    config: &EdgeConfig,
    request: Request,
) -> Result<(http::HeaderMap, Option<Principal>, Value), Response> {
    let (parts, body) = request.into_parts();
    if !config.hosts.allows(&parts.uri, &parts.headers) {
        return Err(forbidden_host(&Value::Null));
    }
    let principal = authenticate(config, &parts.headers).await?;
    // Only JSON, as rmcp requires on `/mcp`: a browser's cross-site "simple" POST
    // (`text/plain`) to a loopback agent must not run a skill.
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(rpc_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &Value::Null,
            INVALID_REQUEST,
            &AdcpError::invalid_request("an A2A request must be sent as `application/json`")
                .with_field("Content-Type"),
        ));
    }
    let bytes = read_body(config, &parts.headers, body).await?;
    let message = parse_message(&bytes)?;
    Ok((parts.headers, principal, message))
}

impl Call<'_> {
    /// Answers one method.
    async fn answer(self, method: &str, params: &Value) -> Response {
        let id = self.id;
        match method {
            "SendMessage" | "message/send" => self.send_message(params).await,
            "GetTask" | "tasks/get" => self.get_task(params).await,
            "CancelTask" | "tasks/cancel" => self.cancel_task(params).await,
            "ListTasks" | "tasks/list" => self.list_tasks(params).await,
            "SendStreamingMessage" | "message/stream" | "SubscribeToTask" | "tasks/resubscribe" => {
                rpc_failure(
                    id,
                    i64::from(a2a::error_code::UNSUPPORTED_OPERATION),
                    &AdcpError::new(
                        codes::UNSUPPORTED_FEATURE,
                        "this agent does not stream (capabilities.streaming is false): use \
                     SendMessage, then GetTask or a push notification config",
                    )
                    .with_field("method"),
                )
            }
            "CreateTaskPushNotificationConfig"
            | "GetTaskPushNotificationConfig"
            | "ListTaskPushNotificationConfigs"
            | "DeleteTaskPushNotificationConfig"
            | "tasks/pushNotificationConfig/set"
            | "tasks/pushNotificationConfig/get"
            | "tasks/pushNotificationConfig/list"
            | "tasks/pushNotificationConfig/delete" => rpc_failure(
                id,
                i64::from(a2a::error_code::UNSUPPORTED_OPERATION),
                &AdcpError::new(
                    codes::UNSUPPORTED_FEATURE,
                    "register a push config with the SendMessage that starts the task \
                 (configuration.taskPushNotificationConfig, or push_notification_config in \
                 the skill's parameters)",
                )
                .with_field("method"),
            ),
            other => rpc_failure(
                id,
                METHOD_NOT_FOUND,
                &AdcpError::invalid_request(format!(
                    "unknown A2A method `{other}`; this agent serves SendMessage, GetTask, \
                 CancelTask and ListTasks (and their v0.3 names)"
                ))
                .with_field("method"),
            ),
        }
    }
}

/// Names an error about a push config A2A's way when the buyer sent A2A's push config: the
/// guards name `push_notification_config…`, which that buyer never wrote.
fn name_native_push_field(mut body: Value) -> Value {
    const NATIVE: &str = "params.configuration.taskPushNotificationConfig";
    let rename = |field: &mut Value| {
        if let Some(rest) = field
            .as_str()
            .and_then(|f| f.strip_prefix("push_notification_config"))
        {
            *field = Value::String(format!("{NATIVE}{rest}"));
        }
    };
    if let Some(field) = body.pointer_mut("/adcp_error/field") {
        rename(field);
    }
    if let Some(Value::Array(errors)) = body.get_mut("errors") {
        for error in errors {
            if let Some(field) = error.get_mut("field") {
                rename(field);
            }
        }
    }
    body
}

/// A task as JSON (serialising the A2A types cannot fail: string keys, JSON values).
fn task_json(task: &a2a::Task) -> Value {
    serde_json::to_value(task).unwrap_or(Value::Null)
}

/// One JSON-RPC request being answered.
struct Call<'a> {
    a2a: &'a A2a,
    id: &'a Value,
    principal: Option<Principal>,
    dialect: Dialect,
}

impl Call<'_> {
    /// Whether credentials are required but none were presented.
    fn anonymous(&self) -> bool {
        self.a2a.config.authenticator.is_some() && self.principal.is_none()
    }

    fn unauthorized(&self) -> Response {
        unauthorized(&self.a2a.config, self.id, &auth_required(), false)
    }

    async fn send_message(self, params: &Value) -> Response {
        let invocation = match wire::invocation(params, self.dialect == Dialect::V03) {
            Ok(invocation) => invocation,
            Err(Unreadable::Params(error)) => {
                return rpc_failure(self.id, INVALID_PARAMS, &error);
            }
            Err(Unreadable::Message(error)) => {
                if self.anonymous() {
                    return self.unauthorized();
                }
                let body = crate::dispatch::failed_reply(
                    &error,
                    &crate::dispatch::Echo::read(&Value::Null),
                )
                .body;
                let task = wire::reply_task(body, true, None);
                return send_answer(self.id, self.dialect, &task);
            }
        };
        let public = self.a2a.config.public_tools.contains(&invocation.skill);
        if self.anonymous() && !public {
            return self.unauthorized();
        }
        let ToolReply { body, is_error } = self
            .a2a
            .server
            .call_tool(
                &invocation.skill,
                Value::Object(invocation.parameters),
                self.principal,
            )
            .await;
        let body = if invocation.native_push {
            name_native_push_field(body)
        } else {
            body
        };
        let task = wire::reply_task(body, is_error, invocation.context_id);
        send_answer(self.id, self.dialect, &task)
    }

    /// The AdCP request a task method stands for: the task id, plus the `account` the task
    /// was created under when the buyer names it in `metadata.account` (as in the skill's
    /// parameters); without it the principal's default account is used.
    fn task_request(&self, params: &Value) -> Result<Map<String, Value>, Response> {
        let Some(task_id) = params.get("id").and_then(Value::as_str) else {
            return Err(rpc_failure(
                self.id,
                INVALID_PARAMS,
                &AdcpError::invalid_request("`params.id` must be the task's id")
                    .with_field("params.id"),
            ));
        };
        let mut request = Map::new();
        request.insert("task_id".to_owned(), Value::String(task_id.to_owned()));
        if let Some(account) = params
            .get("metadata")
            .and_then(|m| m.get("account"))
            .filter(|a| !a.is_null())
        {
            request.insert("account".to_owned(), account.clone());
        }
        Ok(request)
    }

    /// Answers a task method's AdCP reply: the task, or the A2A error its AdCP error maps to.
    fn task_answer(&self, reply: ToolReply) -> Response {
        if !reply.is_error {
            let task = wire::status_task(reply.body);
            return task_result(self.id, self.dialect, &task);
        }
        let error: AdcpError = reply
            .body
            .get("adcp_error")
            .and_then(|e| serde_json::from_value(e.clone()).ok())
            .unwrap_or_else(AdcpError::internal);
        // The buyer's mistakes are invalid params; only the seller's own failures are
        // internal errors.
        let code = match error.code.as_str() {
            codes::REFERENCE_NOT_FOUND => i64::from(a2a::error_code::TASK_NOT_FOUND),
            codes::NOT_CANCELLABLE => i64::from(a2a::error_code::TASK_NOT_CANCELABLE),
            _ if error.recovery == adcp_types::Recovery::Transient => INTERNAL_ERROR,
            _ => INVALID_PARAMS,
        };
        rpc_failure(self.id, code, &error)
    }

    async fn get_task(self, params: &Value) -> Response {
        if self.anonymous() {
            return self.unauthorized();
        }
        let mut request = match self.task_request(params) {
            Ok(request) => request,
            Err(response) => return response,
        };
        request.insert("include_result".to_owned(), Value::Bool(true));
        let reply = self
            .a2a
            .server
            .call_tool(
                "get_task_status",
                Value::Object(request),
                self.principal.clone(),
            )
            .await;
        self.task_answer(reply)
    }

    async fn cancel_task(self, params: &Value) -> Response {
        if self.anonymous() {
            return self.unauthorized();
        }
        let request = match self.task_request(params) {
            Ok(request) => request,
            Err(response) => return response,
        };
        let reply = self
            .a2a
            .server
            .cancel_task(Value::Object(request), self.principal.clone())
            .await;
        self.task_answer(reply)
    }

    /// `ListTasks` over `list_tasks`: `pageSize`/`pageToken` become AdCP pagination, `status`
    /// a status filter; each task is reported with its state and its status summary as the
    /// status message (no artifacts: a summary holds no result; `GetTask` has it).
    async fn list_tasks(self, params: &Value) -> Response {
        if self.anonymous() {
            return self.unauthorized();
        }
        if params.get("contextId").is_some_and(|c| !c.is_null()) {
            return rpc_failure(
                self.id,
                INVALID_PARAMS,
                &AdcpError::new(
                    codes::UNSUPPORTED_FEATURE,
                    "ListTasks cannot filter by contextId here; GetTask reports each task's",
                )
                .with_field("params.contextId"),
            );
        }
        let mut request = Map::new();
        let mut pagination = Map::new();
        if let Some(size) = params.get("pageSize").filter(|v| !v.is_null()) {
            pagination.insert("max_results".to_owned(), size.clone());
        }
        if let Some(token) = params
            .get("pageToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            pagination.insert("cursor".to_owned(), Value::String(token.to_owned()));
        }
        if !pagination.is_empty() {
            request.insert("pagination".to_owned(), Value::Object(pagination));
        }
        if let Some(state) = params.get("status").and_then(Value::as_str) {
            let status = state
                .strip_prefix("TASK_STATE_")
                .unwrap_or(state)
                .to_ascii_lowercase()
                .replace('_', "-");
            request.insert("filters".to_owned(), json!({ "statuses": [status] }));
        }
        if let Some(account) = params.get("metadata").and_then(|m| m.get("account")) {
            request.insert("account".to_owned(), account.clone());
        }
        let reply = self
            .a2a
            .server
            .call_tool("list_tasks", Value::Object(request), self.principal.clone())
            .await;
        if reply.is_error {
            return self.task_answer(reply);
        }
        let tasks: Vec<Value> = reply
            .body
            .get("tasks")
            .and_then(Value::as_array)
            .map(|tasks| {
                tasks
                    .iter()
                    .map(|summary| {
                        self.dialect
                            .task(task_json(&wire::summary_task(summary.clone())))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let pagination = reply.body.get("pagination");
        let next = pagination
            .and_then(|p| p.get("cursor"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let total = reply
            .body
            .get("query_summary")
            .and_then(|s| s.get("total_matching"))
            .cloned()
            .unwrap_or_else(|| json!(tasks.len()));
        let page_size = json!(tasks.len());
        rpc_result(
            self.id,
            &json!({
                "tasks": tasks,
                "nextPageToken": next,
                "pageSize": page_size,
                "totalSize": total,
            }),
        )
    }
}
