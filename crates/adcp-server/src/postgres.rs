//! PostgreSQL in one call (feature `postgres`): the task registry, the transactional webhook
//! outbox and its workers, the idempotency store, their migrations and the retention job,
//! wired so that no mistake can drop a webhook.

use std::sync::Arc;

use adcp_tasks::pg::{CredentialKeys, PgTaskRegistry};
use adcp_webhooks::WebhookSender;
use adcp_webhooks::outbox::{OutboxWorkerConfig, PgOutbox};
use sqlx::PgPool;

use crate::error::ServerError;
use crate::idempotency::PgIdempotencyStore;
use crate::retention::{RetentionConfig, RetentionJob};
use crate::server::{AdcpServerBuilder, WebhookDelivery};

/// What [`AdcpServerBuilder::postgres`] wires: one pool for every store, the sender the
/// outbox workers deliver with, and the options.
///
/// ```no_run
/// use adcp_server::{AdcpServer, PostgresStores};
/// use adcp_tasks::pg::CredentialKey;
/// use adcp_webhooks::signing::{SignatureAlgorithm, WebhookSigner, WebhookSigningKey};
/// use adcp_webhooks::{SenderConfig, WebhookSender};
///
/// # async fn wire() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = sqlx::postgres::PgPoolOptions::new()
///     .max_connections(16)
///     .connect(&std::env::var("DATABASE_URL")?)
///     .await?;
/// // Terminal webhooks are signed (RFC 9421) with this key; its public half is published at
/// // `/.well-known/jwks.json` so buyers can verify them.
/// let key = WebhookSigningKey::generate("seller-1", SignatureAlgorithm::Ed25519);
/// let builder = AdcpServer::builder()
///     // .sales(..), .signals(..), .accounts(..), ...
///     .publish_signing_key(&key);
/// let sender = WebhookSender::new(SenderConfig::default(), Some(WebhookSigner::new(key)))?;
/// // Buyers' push credentials are sealed at rest with a key from your secrets manager.
/// let sealing = CredentialKey::from_base64("k1", &std::env::var("PUSH_CREDENTIALS_KEY")?)?;
/// let server = builder
///     .postgres(PostgresStores::new(pool, sender).credentials_key(sealing))
///     .await?
///     .build()?;
/// # let _ = server; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PostgresStores {
    pool: PgPool,
    sender: WebhookSender,
    credentials: Option<CredentialKeys>,
    workers: usize,
    worker: OutboxWorkerConfig,
    retention: Option<RetentionConfig>,
}

impl PostgresStores {
    /// The stores on `pool`, delivering with `sender`: two outbox workers with the default
    /// configuration, the default retention, push credentials stored in plaintext (see
    /// [`PostgresStores::credentials_key`]).
    pub fn new(pool: PgPool, sender: WebhookSender) -> Self {
        Self {
            pool,
            sender,
            credentials: None,
            workers: 2,
            worker: OutboxWorkerConfig::default(),
            retention: Some(RetentionConfig::default()),
        }
    }

    /// Seals the buyers' push credentials at rest (task rows and outbox rows) with `keys`;
    /// without keys they are stored in plaintext. Either way a task's terminal write clears its
    /// copy, and an outbox row's is cleared once the row is delivered or dead.
    #[must_use]
    pub fn credentials_key(mut self, keys: impl Into<CredentialKeys>) -> Self {
        self.credentials = Some(keys.into());
        self
    }

    /// Runs `count` outbox workers in this process (at least one), each with `config` (its
    /// `worker_id` is suffixed with the worker's index).
    #[must_use]
    pub fn outbox_workers(mut self, count: usize, config: OutboxWorkerConfig) -> Self {
        self.workers = count.max(1);
        self.worker = config;
        self
    }

    /// Purges finished records with `config`; `None` runs no retention job here (another
    /// replica, or an operator's job, does it).
    #[must_use]
    pub fn retention(mut self, config: Option<RetentionConfig>) -> Self {
        self.retention = config;
        self
    }
}

impl AdcpServerBuilder {
    /// Wires every PostgreSQL store in one call: runs the migrations (under an advisory lock:
    /// any number of replicas may start together), sets the task registry (with its
    /// transactional outbox), the idempotency store and [`WebhookDelivery::Transactional`],
    /// and adds the outbox workers and the retention job as background jobs, started by
    /// `build()` and stopped by [`crate::AdcpServer::stop`] after the last task settled.
    ///
    /// Fails when a migration fails (the database is unreachable, or its role may not create
    /// tables). A task registry, idempotency store or delivery mode set on the builder before
    /// this call is replaced.
    ///
    /// ```no_run
    /// # async fn wire(pool: sqlx::PgPool, sender: adcp_webhooks::WebhookSender) -> Result<(), adcp_server::ServerError> {
    /// use adcp_server::{AdcpServer, PostgresStores};
    /// let server = AdcpServer::builder()
    ///     // .sales(..), .signals(..), ...
    ///     .postgres(PostgresStores::new(pool, sender))
    ///     .await?
    ///     .build()?;
    /// # let _ = server; Ok(()) }
    /// ```
    pub async fn postgres(self, stores: PostgresStores) -> Result<Self, ServerError> {
        let PostgresStores {
            pool,
            sender,
            credentials,
            workers,
            worker,
            retention,
        } = stores;
        let mut outbox = PgOutbox::new(pool.clone());
        let mut registry = PgTaskRegistry::builder(pool.clone());
        if let Some(keys) = credentials {
            outbox = outbox.credentials_key(keys.clone());
            registry = registry.credentials_key(keys);
        }
        outbox.migrate().await?;
        let registry = Arc::new(registry.outbox(Arc::new(outbox.clone())).build()?);
        registry.migrate().await?;
        let idempotency = PgIdempotencyStore::new(pool);
        idempotency.migrate().await?;
        let mut builder = self
            .task_registry(Arc::clone(&registry) as Arc<dyn adcp_tasks::TaskRegistry>)
            .idempotency_store(Arc::new(idempotency.clone()))
            .webhooks(WebhookDelivery::Transactional);
        for index in 0..workers {
            let outbox = outbox.clone();
            let sender = sender.clone();
            let mut config = worker.clone();
            config.worker_id = format!("{}-{index}", config.worker_id);
            builder = builder.background_job(
                format!("webhook outbox worker {index}"),
                move |stop| async move {
                    if let Err(error) = outbox.run_worker(sender, config, stop).await {
                        tracing::error!(%error, "the outbox worker could not start");
                    }
                },
            );
        }
        if let Some(config) = retention {
            let job = RetentionJob::new(config)
                .tasks(registry)
                .outbox(outbox)
                .idempotency(idempotency);
            builder = builder.background_job("retention", move |stop| job.run(stop));
        }
        Ok(builder)
    }
}
