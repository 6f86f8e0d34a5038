//! A small seller served in the test process on 127.0.0.1 (wholesale `get_products` at once, a
//! brief handed off to a task, signed webhooks to loopback, brand.json and JWKS published), and
//! helpers that run the built `adcp` binary against it.

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::Duration;

use adcp_server::webhooks::signing::{SignatureAlgorithm, WebhookSigningKey};
use adcp_server::webhooks::ssrf::SsrfPolicy;
use adcp_server::{
    AdcpServer, BearerTokens, CallContext, DiscoveryResult, HttpConfig, Principal,
    PrincipalAccounts, SalesPlatform, SalesTool,
};
use adcp_types::AdcpError;
use adcp_types::generated::{
    GetProductsRequest, GetProductsRequestBuyingMode, GetProductsResponse,
};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt as _;
use tokio_util::sync::CancellationToken;

/// The bearer token the seller accepts.
pub(crate) const TOKEN: &str = "buyer-token";

/// How long the seller takes to curate a brief.
const CURATION: Duration = Duration::from_millis(300);

/// The account every request names.
pub(crate) fn account() -> Value {
    json!({"brand": {"domain": "acme.example"}, "operator": "acme.example"})
}

/// The seller's one product, as the wire carries it.
fn catalog() -> Value {
    json!({
        "cache_scope": "public",
        "products": [{
            "product_id": "homepage_display",
            "name": "Homepage display",
            "description": "Run-of-homepage display, auction priced",
            "delivery_type": "non_guaranteed",
            "publisher_properties": [{"publisher_domain": "news.example", "selection_type": "all"}],
            "format_ids": [{"agent_url": "https://creative.adcontextprotocol.org", "id": "display_300x250"}],
            "pricing_options": [{"pricing_option_id": "cpm_usd", "pricing_model": "cpm", "currency": "USD", "floor_price": 2.0}],
            "reporting_capabilities": {
                "available_metrics": ["impressions", "spend"],
                "available_reporting_frequencies": ["daily"],
                "date_range_support": "date_range",
                "expected_delay_minutes": 240,
                "supports_webhooks": false,
                "timezone": "UTC"
            }
        }]
    })
}

fn products() -> Result<GetProductsResponse, AdcpError> {
    // The catalog is fixed test data; a decoding failure is this test's bug, reported as internal.
    serde_json::from_value(catalog()).map_err(|_| AdcpError::internal())
}

struct Seller;

#[async_trait::async_trait]
impl SalesPlatform for Seller {
    fn tools(&self) -> Vec<SalesTool> {
        vec![SalesTool::GetProducts]
    }

    async fn get_products(
        &self,
        request: GetProductsRequest,
        ctx: &CallContext,
    ) -> Result<DiscoveryResult<GetProductsResponse>, AdcpError> {
        if request.buying_mode != GetProductsRequestBuyingMode::Brief {
            return Ok(DiscoveryResult::completed(products()?));
        }
        // A brief is curated in the background: `submitted` now, the products when it ends.
        Ok(ctx
            .handoff_to_task(|_task| async move {
                tokio::time::sleep(CURATION).await;
                products()
            })
            .into())
    }
}

/// A seller listening on a loopback port; it stops when dropped.
pub(crate) struct Running {
    /// The MCP endpoint.
    pub(crate) url: String,
    /// `http://127.0.0.1:<port>`.
    pub(crate) base: String,
    stop: CancellationToken,
    _server: AdcpServer,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Starts the seller with a fresh Ed25519 signing key.
pub(crate) async fn seller() -> Running {
    seller_with_key(WebhookSigningKey::generate(
        "cli-test-seller-1",
        SignatureAlgorithm::Ed25519,
    ))
    .await
}

/// Starts the seller signing its webhooks with `key`.
pub(crate) async fn seller_with_key(key: WebhookSigningKey) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = AdcpServer::builder()
        .sales(Seller)
        .accounts(PrincipalAccounts::new())
        .strict(true)
        .public_url(base.clone())
        .signed_webhooks(key, SsrfPolicy::strict().allow_loopback())
        .unwrap()
        .allow_insecure_webhook_host("127.0.0.1")
        .build()
        .unwrap();
    let stop = CancellationToken::new();
    let mut http = HttpConfig::default()
        .with_authenticator(BearerTokens::new().with_token(TOKEN, Principal::new("buyer")));
    http.shutdown = stop.clone();
    let limits = http.connections.clone();
    let router = adcp_server::router(&server, http);
    let token = stop.clone();
    tokio::spawn(async move {
        adcp_server::serve_with_limits(listener, router, &limits, async move {
            token.cancelled().await;
        })
        .await
    });
    Running {
        url: format!("{base}/mcp"),
        base,
        stop,
        _server: server,
    }
}

/// What one run of the binary produced.
#[derive(Debug)]
pub(crate) struct Run {
    /// The exit status (`None` when killed by a signal).
    pub(crate) code: Option<i32>,
    /// Standard output.
    pub(crate) stdout: String,
    /// Standard error.
    pub(crate) stderr: String,
}

impl Run {
    fn from(output: &Output) -> Self {
        Self {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Standard output parsed as one JSON document.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Asserts the exit status, showing both streams when it differs.
    pub(crate) fn expect(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "exit status\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

/// A command for the built binary: no colours, none of the user's ADCP_* settings.
pub(crate) fn command(args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_adcp"));
    command
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("ADCP_AUTH_TOKEN")
        .env_remove("ADCP_COMPLIANCE_DIR")
        .env_remove("ADCP_SCHEMAS_DIR")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// Runs `adcp ARGS…` to its end.
pub(crate) async fn adcp(args: &[&str]) -> Run {
    let output = tokio::time::timeout(Duration::from_mins(1), command(args).output())
        .await
        .expect("adcp finishes within a minute")
        .expect("adcp starts");
    Run::from(&output)
}

/// Runs `adcp ARGS…` with `input` on standard input.
pub(crate) async fn adcp_with_stdin(args: &[&str], input: &str) -> Run {
    let mut child = command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("adcp starts");
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    let output = tokio::time::timeout(Duration::from_mins(1), child.wait_with_output())
        .await
        .expect("adcp finishes within a minute")
        .expect("adcp runs");
    Run::from(&output)
}

/// A fresh, empty folder under the system temporary folder, removed when dropped.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    /// Creates it.
    pub(crate) fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "adcp-cli-{tag}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    /// `path` inside it, as a string.
    pub(crate) fn file(&self, path: &str) -> String {
        self.0.join(path).display().to_string()
    }

    /// Writes `contents` to `path` inside it (creating folders) and returns the full path.
    pub(crate) fn write(&self, path: &str, contents: &str) -> String {
        let full = self.0.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&full, contents).unwrap();
        full.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
