//! The handoff runtime's behaviours, written once and run against every store by
//! `runtime_suite!`.
// Test code: unwrap is how a behaviour check fails.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use adcp_tasks::{
    CompletionHook, FailureHook, HandoffHooks, RequestContext, TaskContext, TaskError, TaskId,
    TaskProgress, TaskQuery, TaskRecord, TaskRegistry, TaskRuntime,
};
use adcp_types::{AdcpError, AdcpProtocol, Recovery, TaskStatus, TaskType};
use async_trait::async_trait;
use serde::Serialize;
use serde_json::json;
use tokio::sync::Notify;

use crate::support::{RecordingCallback, scope, wait_terminal};

/// One `#[tokio::test]` per behaviour; `$make` is an async expression yielding
/// `(guard, Arc<dyn TaskRegistry>)`.
#[macro_export]
macro_rules! runtime_suite {
    ($make:expr; $($behaviour:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $behaviour() {
                let (_guard, registry) = $make.await;
                $crate::runtime::$behaviour(registry).await;
            }
        )*
    };
}

type Registry = Arc<dyn TaskRegistry>;

const WAIT: Duration = Duration::from_secs(10);

pub fn runtime(registry: Registry, callback: Arc<RecordingCallback>) -> TaskRuntime {
    TaskRuntime::builder(registry)
        .terminal_callback(callback)
        .lease_duration(Duration::from_secs(3))
        .build()
        .unwrap()
}

pub fn request(runtime: &TaskRuntime) -> RequestContext {
    RequestContext::new(
        runtime,
        scope(),
        TaskType::GetProducts.into(),
        AdcpProtocol::MediaBuy,
    )
}

#[derive(Debug, Serialize)]
struct Products {
    products: Vec<serde_json::Value>,
}

pub async fn handoff_answers_submitted_then_completes(registry: Registry) {
    let callback = RecordingCallback::new();
    let runtime = runtime(Arc::clone(&registry), Arc::clone(&callback));
    let gate = Arc::new(Notify::new());
    let webhook = json!({"url": "https://buyer.example/hook", "token": "tok_12345678901234567890"});
    let handoff = request(&runtime)
        .with_webhook(webhook.clone())
        .with_request_context(json!({"trace": "t1"}))
        .handoff_to_task({
            let gate = Arc::clone(&gate);
            move |_ctx: TaskContext| async move {
                gate.notified().await;
                Ok::<_, AdcpError>(Products {
                    products: vec![json!({"product_id": "p1"})],
                })
            }
        });
    let submitted = handoff.start(HandoffHooks::new()).await.unwrap();
    assert_eq!(
        submitted.to_value(),
        json!({"task_id": submitted.task_id.as_str(), "status": "submitted"})
    );
    let pending = registry
        .get(&scope(), &submitted.task_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        pending.status,
        TaskStatus::Submitted,
        "the answer came before the work finished"
    );
    gate.notify_one();
    let done = wait_terminal(registry.as_ref(), &scope(), &submitted.task_id, WAIT).await;
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(
        done.result,
        Some(json!({"products": [{"product_id": "p1"}]}))
    );
    let calls = callback.wait_for(&submitted.task_id, WAIT).await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].status, TaskStatus::Completed);
    assert_eq!(
        calls[0].webhook,
        Some(webhook),
        "the callback gets the stored webhook registration"
    );
    assert_eq!(calls[0].request_context, Some(json!({"trace": "t1"})));
    runtime.shutdown(Duration::from_secs(1)).await;
}

#[derive(Debug, Default)]
struct SeenFailures(std::sync::Mutex<Vec<(TaskId, AdcpError)>>);

#[async_trait]
impl FailureHook for SeenFailures {
    async fn on_failure(&self, task: &TaskRecord, error: &AdcpError) {
        self.0
            .lock()
            .unwrap()
            .push((task.task_id.clone(), error.clone()));
    }
}

pub async fn adcp_error_becomes_the_task_error(registry: Registry) {
    let callback = RecordingCallback::new();
    let runtime = runtime(Arc::clone(&registry), Arc::clone(&callback));
    let error = AdcpError::new("PRODUCT_UNAVAILABLE", "sold out").with_field("product_id");
    let failures = Arc::new(SeenFailures::default());
    let submitted = request(&runtime)
        .handoff_to_task({
            let error = error.clone();
            move |_ctx| async move { Err::<Products, _>(error) }
        })
        .start(HandoffHooks::new().on_failure(Arc::clone(&failures) as Arc<dyn FailureHook>))
        .await
        .unwrap();
    let failed = wait_terminal(registry.as_ref(), &scope(), &submitted.task_id, WAIT).await;
    assert_eq!(failed.status, TaskStatus::Failed);
    assert_eq!(failed.error, Some(error.clone()));
    assert_eq!(
        *failures.0.lock().unwrap(),
        vec![(submitted.task_id.clone(), error)]
    );
    assert_eq!(callback.wait_for(&submitted.task_id, WAIT).await.len(), 1);
}

pub async fn other_errors_and_panics_fail_with_a_generic_error(registry: Registry) {
    let callback = RecordingCallback::new();
    let runtime = runtime(Arc::clone(&registry), Arc::clone(&callback));
    let io_failure = request(&runtime)
        .handoff_to_task(|_ctx| async move {
            Err::<Products, _>(std::io::Error::other(
                "db password=hunter2 at 10.0.0.7 refused",
            ))
        })
        .start(HandoffHooks::new())
        .await
        .unwrap();
    let panicking = request(&runtime)
        .handoff_to_task(|_ctx| async move {
            assert!(
                !std::hint::black_box(true),
                "secret internal state 0xdeadbeef"
            );
            Ok::<Products, AdcpError>(Products { products: vec![] })
        })
        .start(HandoffHooks::new())
        .await
        .unwrap();
    for submitted in [io_failure, panicking] {
        let failed = wait_terminal(registry.as_ref(), &scope(), &submitted.task_id, WAIT).await;
        assert_eq!(failed.status, TaskStatus::Failed);
        let error = failed.error.unwrap();
        assert_eq!(error.code, "SERVICE_UNAVAILABLE");
        assert_eq!(error.recovery, Recovery::Transient);
        let wire = error.to_value().to_string();
        assert!(
            !wire.contains("hunter2") && !wire.contains("deadbeef") && !wire.contains("10.0.0.7"),
            "{wire}"
        );
        assert_eq!(callback.wait_for(&submitted.task_id, WAIT).await.len(), 1);
    }
}

// `AdcpError` is the wire error every hook returns; its size is the protocol's, not ours.
#[allow(clippy::result_large_err)]
pub async fn pre_handoff_reject_stops_before_any_side_effect(registry: Registry) {
    let callback = RecordingCallback::new();
    let runtime = runtime(Arc::clone(&registry), Arc::clone(&callback));
    let ran = Arc::new(AtomicUsize::new(0));
    let outcome = request(&runtime)
        .handoff_to_task({
            let ran = Arc::clone(&ran);
            move |_ctx| async move {
                ran.fetch_add(1, Ordering::SeqCst);
                Ok::<_, AdcpError>(Products { products: vec![] })
            }
        })
        .start(
            HandoffHooks::new()
                .pre_handoff_reject(|| Err(AdcpError::invalid_request("no async for you"))),
        )
        .await;
    let Err(TaskError::Rejected(error)) = outcome else {
        panic!("expected a rejection, got {outcome:?}")
    };
    assert_eq!(error.message, "no async for you");
    assert_eq!(
        TaskError::Rejected(error).to_adcp_error().code,
        "INVALID_REQUEST"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(ran.load(Ordering::SeqCst), 0, "the work never ran");
    let page = registry.list(&scope(), &TaskQuery::new()).await.unwrap();
    assert!(page.tasks.is_empty(), "no task was issued");
    assert_eq!(callback.summary(), (0, 0));
}

#[derive(Debug)]
struct RecordCompletion {
    seen: AtomicUsize,
    verdict: Result<(), AdcpError>,
}

#[async_trait]
impl CompletionHook<Products> for RecordCompletion {
    async fn on_complete(&self, task: &TaskRecord, result: &Products) -> Result<(), AdcpError> {
        assert_eq!(
            task.status,
            TaskStatus::Submitted,
            "hooks see the record as issued"
        );
        self.seen.fetch_add(result.products.len(), Ordering::SeqCst);
        self.verdict.clone()
    }
}

pub async fn completion_hook_runs_first_and_can_fail_the_task(registry: Registry) {
    let callback = RecordingCallback::new();
    let runtime = runtime(Arc::clone(&registry), Arc::clone(&callback));
    let work = |_ctx: TaskContext| async move {
        Ok::<_, AdcpError>(Products {
            products: vec![json!({}), json!({})],
        })
    };

    let approving = Arc::new(RecordCompletion {
        seen: AtomicUsize::new(0),
        verdict: Ok(()),
    });
    let ok = request(&runtime)
        .handoff_to_task(work)
        .start(
            HandoffHooks::new()
                .on_complete(Arc::clone(&approving) as Arc<dyn CompletionHook<Products>>),
        )
        .await
        .unwrap();
    let done = wait_terminal(registry.as_ref(), &scope(), &ok.task_id, WAIT).await;
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(approving.seen.load(Ordering::SeqCst), 2);

    let refusal = AdcpError::new("PROPOSAL_EXPIRED", "the proposal expired");
    let refusing = Arc::new(RecordCompletion {
        seen: AtomicUsize::new(0),
        verdict: Err(refusal.clone()),
    });
    let failures = Arc::new(SeenFailures::default());
    let refused = request(&runtime)
        .handoff_to_task(work)
        .start(
            HandoffHooks::new()
                .on_complete(Arc::clone(&refusing) as Arc<dyn CompletionHook<Products>>)
                .on_failure(Arc::clone(&failures) as Arc<dyn FailureHook>),
        )
        .await
        .unwrap();
    let failed = wait_terminal(registry.as_ref(), &scope(), &refused.task_id, WAIT).await;
    assert_eq!(failed.status, TaskStatus::Failed);
    assert_eq!(failed.error, Some(refusal.clone()));
    assert!(failed.result.is_none());
    assert_eq!(failures.0.lock().unwrap().len(), 1);
}

pub async fn progress_from_the_work_shows_as_working(registry: Registry) {
    let callback = RecordingCallback::new();
    let runtime = runtime(Arc::clone(&registry), Arc::clone(&callback));
    let reported = Arc::new(Notify::new());
    let finish = Arc::new(Notify::new());
    let submitted = request(&runtime)
        .handoff_to_task({
            let (reported, finish) = (Arc::clone(&reported), Arc::clone(&finish));
            move |ctx: TaskContext| async move {
                assert!(
                    ctx.update_progress(TaskProgress::new().percentage(50.0).steps(1, 2))
                        .await
                );
                reported.notify_one();
                finish.notified().await;
                Ok::<_, AdcpError>(Products { products: vec![] })
            }
        })
        .start(HandoffHooks::new())
        .await
        .unwrap();
    reported.notified().await;
    let working = registry
        .get(&scope(), &submitted.task_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(working.status, TaskStatus::Working);
    assert_eq!(
        working.progress,
        Some(json!({"percentage": 50.0, "step_number": 1, "total_steps": 2}))
    );
    finish.notify_one();
    let done = wait_terminal(registry.as_ref(), &scope(), &submitted.task_id, WAIT).await;
    assert_eq!(done.status, TaskStatus::Completed);
}

pub async fn cancel_signals_the_work_and_discards_its_outcome(registry: Registry) {
    let callback = RecordingCallback::new();
    let runtime = runtime(Arc::clone(&registry), Arc::clone(&callback));
    let observed = Arc::new(Notify::new());
    let started = Arc::new(Notify::new());
    let submitted = request(&runtime)
        .handoff_to_task({
            let (observed, started) = (Arc::clone(&observed), Arc::clone(&started));
            move |ctx: TaskContext| async move {
                started.notify_one();
                ctx.cancellation().cancelled().await;
                observed.notify_one();
                // Returning a value anyway: it must not overwrite the cancellation.
                Ok::<_, AdcpError>(Products {
                    products: vec![json!({"late": true})],
                })
            }
        })
        .start(HandoffHooks::new())
        .await
        .unwrap();
    started.notified().await;
    let foreign = runtime
        .cancel(&crate::support::other_owner(), &submitted.task_id)
        .await;
    assert!(matches!(foreign, Err(TaskError::NotFound(_))));
    let canceled = runtime.cancel(&scope(), &submitted.task_id).await.unwrap();
    assert_eq!(canceled.status, TaskStatus::Canceled);
    tokio::time::timeout(WAIT, observed.notified())
        .await
        .expect("the work saw the cancellation");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stored = registry
        .get(&scope(), &submitted.task_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, TaskStatus::Canceled);
    assert!(stored.result.is_none());
    let calls = callback.calls_for(&submitted.task_id);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].status, TaskStatus::Canceled);
    let again = runtime.cancel(&scope(), &submitted.task_id).await.unwrap();
    assert_eq!(again.status, TaskStatus::Canceled);
    assert_eq!(
        callback.calls_for(&submitted.task_id).len(),
        1,
        "a repeated cancel calls nothing"
    );
}

pub async fn forced_task_id_is_used_and_a_duplicate_never_runs(registry: Registry) {
    let callback = RecordingCallback::new();
    let runtime = runtime(Arc::clone(&registry), Arc::clone(&callback));
    let id = TaskId::parse("task_controller_forced_7").unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let work = {
        let ran = Arc::clone(&ran);
        move |_ctx: TaskContext| async move {
            ran.fetch_add(1, Ordering::SeqCst);
            Ok::<_, AdcpError>(Products { products: vec![] })
        }
    };
    let first = request(&runtime)
        .with_task_id(id.clone())
        .handoff_to_task(work.clone())
        .start(HandoffHooks::new());
    assert_eq!(first.await.unwrap().task_id, id);
    wait_terminal(registry.as_ref(), &scope(), &id, WAIT).await;
    let second = request(&runtime)
        .with_task_id(id.clone())
        .handoff_to_task(work)
        .start(HandoffHooks::new())
        .await;
    assert!(
        matches!(second, Err(TaskError::Conflict { .. })),
        "{second:?}"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

pub async fn shutdown_waits_for_running_work(registry: Registry) {
    let callback = RecordingCallback::new();
    let runtime = runtime(Arc::clone(&registry), Arc::clone(&callback));
    let submitted = request(&runtime)
        .handoff_to_task(|_ctx| async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok::<_, AdcpError>(Products { products: vec![] })
        })
        .start(HandoffHooks::new())
        .await
        .unwrap();
    let report = runtime.shutdown(Duration::from_secs(10)).await;
    assert_eq!((report.finished, report.failed), (1, 0));
    let done = registry
        .get(&scope(), &submitted.task_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        done.status,
        TaskStatus::Completed,
        "shutdown returned after the work finished"
    );
    assert!(!runtime.is_accepting());
    let late = request(&runtime)
        .handoff_to_task(|_ctx| async move { Ok::<_, AdcpError>(Products { products: vec![] }) })
        .start(HandoffHooks::new())
        .await;
    assert!(matches!(late, Err(TaskError::ShuttingDown)), "{late:?}");
}

pub async fn shutdown_fails_work_still_running_at_the_deadline(registry: Registry) {
    let callback = RecordingCallback::new();
    let runtime = runtime(Arc::clone(&registry), Arc::clone(&callback));
    let quick = request(&runtime)
        .handoff_to_task(|_ctx| async move { Ok::<_, AdcpError>(Products { products: vec![] }) })
        .start(HandoffHooks::new())
        .await
        .unwrap();
    wait_terminal(registry.as_ref(), &scope(), &quick.task_id, WAIT).await;
    let saw_cancel = Arc::new(AtomicUsize::new(0));
    let stuck = request(&runtime)
        .handoff_to_task({
            let saw_cancel = Arc::clone(&saw_cancel);
            move |ctx: TaskContext| async move {
                let token = ctx.cancellation().clone();
                tokio::spawn(async move {
                    token.cancelled().await;
                    saw_cancel.fetch_add(1, Ordering::SeqCst);
                });
                std::future::pending::<()>().await;
                Ok::<_, AdcpError>(Products { products: vec![] })
            }
        })
        .start(HandoffHooks::new())
        .await
        .unwrap();
    let report = runtime.shutdown(Duration::from_millis(300)).await;
    assert_eq!((report.finished, report.failed), (0, 1));
    let failed = registry
        .get(&scope(), &stuck.task_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(failed.status, TaskStatus::Failed);
    let error = failed.error.unwrap();
    assert_eq!(
        (error.code.as_str(), error.recovery),
        ("SERVICE_UNAVAILABLE", Recovery::Transient)
    );
    assert_eq!(callback.calls_for(&stuck.task_id).len(), 1);
    assert_eq!(callback.calls_for(&quick.task_id).len(), 1);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        saw_cancel.load(Ordering::SeqCst),
        1,
        "the work's token was signalled"
    );
    assert_eq!(runtime.running_tasks(), 0);
}

pub async fn the_terminal_callback_runs_once_per_task_under_races(registry: Registry) {
    let callback = RecordingCallback::new();
    let runtime = Arc::new(runtime(Arc::clone(&registry), Arc::clone(&callback)));
    let mut ids = Vec::new();
    for i in 0..200u32 {
        let submitted = request(&runtime)
            .handoff_to_task(move |_ctx| async move {
                tokio::time::sleep(Duration::from_millis(u64::from(i % 7))).await;
                Ok::<_, AdcpError>(Products { products: vec![] })
            })
            .start(HandoffHooks::new())
            .await
            .unwrap();
        ids.push(submitted.task_id);
    }
    // Cancel every other task while the work races to complete it.
    let mut cancels = tokio::task::JoinSet::new();
    for id in ids.iter().step_by(2) {
        let (runtime, id) = (Arc::clone(&runtime), id.clone());
        cancels.spawn(async move { runtime.cancel(&scope(), &id).await });
    }
    while let Some(outcome) = cancels.join_next().await {
        match outcome.unwrap() {
            Ok(_) | Err(TaskError::Conflict { .. }) => {}
            Err(other) => panic!("unexpected cancel error {other}"),
        }
    }
    for id in &ids {
        let record = wait_terminal(registry.as_ref(), &scope(), id, WAIT).await;
        let calls = callback.wait_for(id, WAIT).await;
        assert_eq!(calls.len(), 1, "exactly one callback for {id}");
        assert_eq!(
            calls[0].status, record.status,
            "the callback saw the stored outcome"
        );
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(callback.summary(), (200, 1));
}
