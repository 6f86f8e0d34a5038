//! Validator throughput on storyboard payloads: a get_products request, and a get_products
//! response of 50 products (the get_products_async storyboard's forced-completion product,
//! replicated with distinct ids). Both are checked valid before timing.
//!
//! Run with `cargo bench -p adcp-types --features validate --bench validator`. Prints one JSON
//! object per case. First the cold start: building the set from the embedded schemas, then the
//! first validation of each payload (which compiles that tool's validator). Then the steady
//! state: iterations, ns/op and ops/s, after a warm-up.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use adcp_types::ADCP_VERSION;
use adcp_types::validate::SchemaSet;
use serde_json::{Value, json};

const STORYBOARD: &str = "protocols/media-buy/scenarios/get_products_async.yaml";
const WARM_UP: Duration = Duration::from_millis(300);
const MEASURE: Duration = Duration::from_secs(2);

fn compliance_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ADCP_COMPLIANCE_DIR") {
        let dir = PathBuf::from(dir);
        let versioned = dir.join(ADCP_VERSION);
        return if versioned.is_dir() { versioned } else { dir };
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/compliance")
        .join(ADCP_VERSION)
}

/// Replaces `{{runner.webhook_url:<id>}}` tokens the way the storyboard tests do.
fn substitute(value: &mut Value) {
    match value {
        Value::String(text) if text.starts_with("{{runner.webhook_url:") => {
            let id = text
                .trim_start_matches("{{runner.webhook_url:")
                .trim_end_matches("}}");
            *text = format!("https://buyer.example/webhooks/{id}");
        }
        Value::Array(items) => items.iter_mut().for_each(substitute),
        Value::Object(map) => map.values_mut().for_each(substitute),
        _ => {}
    }
}

/// The storyboard's first get_products sample request and its forced-completion product.
fn fixtures() -> (Value, Value) {
    let path = compliance_dir().join(STORYBOARD);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value = serde_yaml_ng::from_str(&text).expect("storyboard is YAML");
    let steps: Vec<&Value> = doc["phases"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|phase| phase["steps"].as_array().into_iter().flatten())
        .collect();
    let mut request = steps
        .iter()
        .find(|s| s["task"] == "get_products")
        .map(|s| s["sample_request"].clone())
        .expect("a get_products step");
    substitute(&mut request);
    let product = steps
        .iter()
        .find_map(|s| s.pointer("/sample_request/params/result/products/0"))
        .cloned()
        .expect("a forced-completion product");
    (request, product)
}

fn bench(name: &str, mut op: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < WARM_UP {
        assert!(op(), "{name}: payload stopped validating");
    }
    let mut iterations: u64 = 0;
    let start = Instant::now();
    while start.elapsed() < MEASURE {
        for _ in 0..16 {
            black_box(op());
        }
        iterations += 16;
    }
    let elapsed = start.elapsed();
    #[allow(clippy::cast_precision_loss)]
    let ns_per_op = elapsed.as_nanos() as f64 / iterations as f64;
    let result = json!({
        "bench": name,
        "iterations": iterations,
        "ns_per_op": (ns_per_op * 10.0).round() / 10.0,
        "ops_per_sec": (1e9 / ns_per_op).round(),
    });
    println!("{result}");
}

fn millis(elapsed: Duration) -> f64 {
    (elapsed.as_secs_f64() * 1e5).round() / 100.0
}

/// Times what a process pays once: the set built from the embedded schemas, and the first
/// validation of each payload (its validator compiled). Panics if a payload does not validate.
fn cold_start(request: &Value, response: &Value) -> SchemaSet {
    let start = Instant::now();
    let set = SchemaSet::embedded().expect("the embedded schemas build a set");
    let build = start.elapsed();
    let start = Instant::now();
    if let Err(issues) = set.validate_response("get_products", response) {
        panic!("the 50-product response does not validate: {issues:?}");
    }
    let first_response = start.elapsed();
    let start = Instant::now();
    if let Err(issues) = set.validate_request("get_products", request) {
        panic!("the storyboard request does not validate: {issues:?}");
    }
    let first_request = start.elapsed();
    let result = json!({
        "bench": "cold_start",
        "schemas": set.len(),
        "build_embedded_set_ms": millis(build),
        "first_get_products_response_50_products_ms": millis(first_response),
        "first_get_products_request_ms": millis(first_request),
    });
    println!("{result}");
    set
}

fn main() {
    let (request, product) = fixtures();
    let products: Vec<Value> = (0..50)
        .map(|i| {
            let mut p = product.clone();
            p["product_id"] = Value::from(format!(
                "{}_{i}",
                product["product_id"].as_str().unwrap_or("product")
            ));
            p
        })
        .collect();
    // `status` is the protocol envelope's, which get-products-response.json requires.
    let response = json!({"status": "completed", "products": products, "cache_scope": "public"});
    let set = cold_start(&request, &response);
    bench("validate_get_products_request", || {
        set.validate_request("get_products", black_box(&request))
            .is_ok()
    });
    bench("validate_get_products_response_50_products", || {
        set.validate_response("get_products", black_box(&response))
            .is_ok()
    });
}
