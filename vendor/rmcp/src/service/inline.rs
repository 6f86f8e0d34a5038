//! Serving one request inside the caller's own future.
//!
//! [`serve_request_inline`] answers a single request the way the service loop
//! of [`serve_directly_with_ct`](super::serve_directly_with_ct) would (the same
//! request context, the same task-locals, the same response or error message)
//! without spawning the loop, the handler task and the response-send task. It
//! suits transports that carry exactly one request per exchange, such as the
//! stateless streamable HTTP server.
//!
//! If the handler sends a message through its peer before it answers, the
//! exchange can no longer be a single message: the caller receives
//! [`InlineOutcome::Streaming`] with that first message and a receiver for the
//! rest (ending with the answer), and the handler keeps running in a spawned
//! task.
//!
//! As in the service loop, a handler always runs to its end: if the caller's
//! future is dropped first (the client went away), the handler's `ct` is
//! cancelled and the handler finishes in a task of its own.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use tracing::Instrument as _;

use super::{
    AtomicU32RequestIdProvider, MaybeBoxFuture, ORIGINATING_PROTOCOL_VERSION, ORIGINATING_REQUEST,
    Peer, PeerSinkMessage, RequestContext, Responder, Service, ServiceError, ServiceRole,
    TxJsonRpcMessage, spawn_service_task,
};
use crate::model::{
    Extensions, GetExtensions, GetMeta, JsonRpcMessage, JsonRpcRequest, RequestMetaObject,
};

/// How many messages a streaming exchange buffers ahead of its reader.
const STREAM_BUFFER: usize = 16;

/// What answering one request inline produced.
pub(crate) enum InlineOutcome<R: ServiceRole> {
    /// The handler answered without sending anything else first: its response
    /// or error, ready to be written as the whole exchange.
    Answered(TxJsonRpcMessage<R>),
    /// The handler sent a message before answering: that message, then every
    /// later one on `rest`, the last being the answer.
    Streaming {
        first: TxJsonRpcMessage<R>,
        rest: mpsc::Receiver<TxJsonRpcMessage<R>>,
    },
}

/// A handler's future that runs to its end: dropped unfinished, it cancels the
/// handler's `ct` and finishes in a task of its own (as the handler task of the
/// service loop would).
struct RunToEnd<R: ServiceRole> {
    handler: Option<MaybeBoxFuture<'static, TxJsonRpcMessage<R>>>,
    ct: CancellationToken,
}

impl<R: ServiceRole> Future for RunToEnd<R> {
    type Output = TxJsonRpcMessage<R>;

    /// The handler's answer; pending forever once it has been taken.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(handler) = self.handler.as_mut() else {
            return Poll::Pending;
        };
        let answer = std::task::ready!(handler.as_mut().poll(cx));
        self.handler = None;
        Poll::Ready(answer)
    }
}

impl<R: ServiceRole> Drop for RunToEnd<R> {
    fn drop(&mut self) {
        if let Some(handler) = self.handler.take() {
            self.ct.cancel();
            spawn_service_task(
                async move {
                    let _ = handler.await;
                }
                .in_current_span(),
            );
        }
    }
}

/// Answers `request` with `service` in the caller's future.
///
/// `ct` becomes the handler's [`RequestContext::ct`]; it is cancelled once the
/// handler has answered, or when the returned future is dropped before that
/// (the handler then still runs to its end). After
/// [`InlineOutcome::Streaming`], the spawned handler runs to its end too; its
/// later messages are dropped once `rest` is.
pub(crate) async fn serve_request_inline<R, S>(
    service: S,
    request: JsonRpcRequest<R::PeerReq>,
    peer_info: Option<R::PeerInfo>,
    ct: CancellationToken,
) -> InlineOutcome<R>
where
    R: ServiceRole,
    S: Service<R>,
{
    let (peer, mut peer_rx) = Peer::new(Arc::new(AtomicU32RequestIdProvider::default()), peer_info);
    R::configure_direct_peer(&peer, &service.get_info());
    let JsonRpcRequest {
        id, mut request, ..
    } = request;
    let mut meta = RequestMetaObject::new();
    std::mem::swap(&mut meta, request.get_meta_mut());
    let mut extensions = Extensions::new();
    std::mem::swap(&mut extensions, request.extensions_mut());
    let context = RequestContext {
        ct: ct.clone(),
        id: id.clone(),
        peer,
        meta,
        extensions,
    };
    let version = context.meta.protocol_version();
    let handler: MaybeBoxFuture<'static, TxJsonRpcMessage<R>> = Box::pin(async move {
        let result = ORIGINATING_REQUEST
            .scope(
                id.clone(),
                ORIGINATING_PROTOCOL_VERSION
                    .scope(version, service.handle_request(request, context)),
            )
            .await;
        match result {
            Ok(result) => JsonRpcMessage::response(result, id),
            Err(error) => {
                tracing::warn!(%id, ?error, "response error");
                JsonRpcMessage::error(error, Some(id))
            }
        }
    });
    let mut handler = RunToEnd::<R> {
        handler: Some(handler),
        ct: ct.clone(),
    };
    let sent = tokio::select! {
        biased;
        answer = &mut handler => {
            ct.cancel();
            return InlineOutcome::Answered(answer);
        }
        Some(sent) = peer_rx.recv() => *sent,
    };
    let mut unanswerable = Vec::new();
    let first = outbound(sent, &mut unanswerable);
    let (tx, rest) = mpsc::channel(STREAM_BUFFER);
    spawn_service_task(
        async move {
            let mut reader_gone = false;
            loop {
                tokio::select! {
                    biased;
                    answer = &mut handler => {
                        let _ = tx.send(answer).await;
                        break;
                    }
                    Some(sent) = peer_rx.recv() => {
                        let message = outbound(*sent, &mut unanswerable);
                        if !reader_gone && tx.send(message).await.is_err() {
                            reader_gone = true;
                        }
                    }
                    // Cancelled (the client went away): the requests it could never answer
                    // fail now, as the service loop failed them, so the handler can end.
                    _ = ct.cancelled(), if !unanswerable.is_empty() => unanswerable.clear(),
                }
            }
            ct.cancel();
            drop(unanswerable);
        }
        .in_current_span(),
    );
    InlineOutcome::Streaming { first, rest }
}

/// Turns what the handler sent through its peer into the message to write.
///
/// A notification is acknowledged once it is queued. A request's responder is
/// kept in `unanswerable` until the handler ends or its `ct` is cancelled: one
/// exchange carries no reply from the other side, so the request stays pending,
/// as it would in the service loop.
fn outbound<R: ServiceRole>(
    sent: PeerSinkMessage<R>,
    unanswerable: &mut Vec<Responder<Result<R::PeerResp, ServiceError>>>,
) -> TxJsonRpcMessage<R> {
    match sent {
        PeerSinkMessage::Request {
            request,
            id,
            responder,
        } => {
            unanswerable.push(responder);
            JsonRpcMessage::request(request, id)
        }
        PeerSinkMessage::Notification {
            notification,
            responder,
        } => {
            let _ = responder.send(Ok(()));
            JsonRpcMessage::notification(notification)
        }
    }
}
