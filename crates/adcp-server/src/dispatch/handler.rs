//! Type erasure between the typed platform traits and the JSON dispatcher.

use std::marker::PhantomData;
use std::sync::Arc;

use adcp_tasks::{HandoffHooks, SubmittedTask, TaskError, TaskHandoff};
use adcp_types::AdcpError;
use async_trait::async_trait;
use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::decode::decode;
use crate::call::CallContext;
use crate::hooks::{ResultHook, TaskCompletionHooks};
use crate::platform::Outcome;

/// What the server adds to a handoff when it starts it.
pub(crate) struct StartHooks {
    pub(crate) tool: &'static str,
    pub(crate) hooks: Vec<Arc<dyn ResultHook>>,
}

pub(crate) type StartFn =
    Box<dyn FnOnce(StartHooks) -> BoxFuture<'static, Result<SubmittedTask, TaskError>> + Send>;

/// A platform's answer, erased to JSON.
pub(crate) enum Produced {
    /// A synchronous response body.
    Sync(Value),
    /// A handoff, started only after the pre-handoff guards passed.
    Handoff(StartFn),
}

/// One tool's handler, working on JSON.
#[async_trait]
pub(crate) trait ErasedTool: Send + Sync + 'static {
    async fn call(&self, request: &Value, ctx: CallContext) -> Result<Produced, AdcpError>;
}

type TypedFn<Req, Resp> =
    dyn Fn(Req, CallContext) -> BoxFuture<'static, Result<Outcome<Resp>, AdcpError>> + Send + Sync;

/// A typed platform method behind the erased interface.
pub(crate) struct Typed<Req, Resp> {
    method: Box<TypedFn<Req, Resp>>,
    _types: PhantomData<fn(Req) -> Resp>,
}

impl<Req, Resp> Typed<Req, Resp>
where
    Req: DeserializeOwned + Send + 'static,
    Resp: Serialize + Send + Sync + 'static,
{
    pub(crate) fn erased<F>(method: F) -> Arc<dyn ErasedTool>
    where
        F: Fn(Req, CallContext) -> BoxFuture<'static, Result<Outcome<Resp>, AdcpError>>
            + Send
            + Sync
            + 'static,
    {
        Arc::new(Self {
            method: Box::new(method),
            _types: PhantomData,
        })
    }
}

/// Serialises a platform's response.
pub(crate) fn to_json<T: Serialize>(tool: &str, value: &T) -> Result<Value, AdcpError> {
    serde_json::to_value(value).map_err(|error| {
        tracing::error!(tool, %error, "a platform response could not be serialised");
        AdcpError::internal()
    })
}

#[async_trait]
impl<Req, Resp> ErasedTool for Typed<Req, Resp>
where
    Req: DeserializeOwned + Send + 'static,
    Resp: Serialize + Send + Sync + 'static,
{
    async fn call(&self, request: &Value, ctx: CallContext) -> Result<Produced, AdcpError> {
        let typed: Req = decode(request)?;
        let tool = ctx.tool();
        match (self.method)(typed, ctx).await? {
            Outcome::Completed(value) => to_json(tool, &value).map(Produced::Sync),
            Outcome::Handoff(handoff) => Ok(Produced::Handoff(start_fn(handoff))),
        }
    }
}

/// The deferred start of `handoff`, with the server's result hooks attached.
pub(crate) fn start_fn<T>(handoff: TaskHandoff<T>) -> StartFn
where
    T: Serialize + Send + Sync + 'static,
{
    Box::new(move |start: StartHooks| {
        Box::pin(async move {
            let mut hooks = HandoffHooks::new();
            if !start.hooks.is_empty() {
                hooks = hooks.on_complete(Arc::new(TaskCompletionHooks {
                    tool: start.tool,
                    hooks: start.hooks,
                }));
            }
            handoff.start(hooks).await
        })
    })
}
