//! The validator works from the schemas compiled into the crate: no schema folder, no
//! environment. `cargo xtask package-check` runs this file inside the packaged crate, unpacked
//! outside the workspace, so it must not read anything beside the crate.

use adcp_types::validate::SchemaSet;
use serde_json::json;

fn set() -> &'static SchemaSet {
    assert!(
        std::env::var_os("ADCP_SCHEMAS_DIR").is_none(),
        "this test checks the embedded schemas: unset ADCP_SCHEMAS_DIR"
    );
    SchemaSet::load_default().expect("the embedded schemas build a set")
}

#[test]
fn the_default_set_is_the_embedded_one() {
    let embedded = SchemaSet::embedded().expect("the embedded schemas build a set");
    assert!(embedded.len() > 600, "only {} schemas", embedded.len());
    assert_eq!(set().len(), embedded.len());
}

#[test]
fn a_good_get_products_request_passes_and_a_bad_one_names_its_field() {
    let good = json!({"buying_mode": "brief", "brief": "Premium video for a sports brand"});
    assert_eq!(set().validate_request("get_products", &good), Ok(()));

    let bad = json!({"buying_mode": "brief", "brief": 42});
    let issues = set()
        .validate_request("get_products", &bad)
        .expect_err("a numeric brief is rejected");
    assert!(
        issues
            .iter()
            .any(|i| i.pointer == "/brief" && i.keyword == "type"),
        "{issues:?}"
    );
}

#[test]
fn responses_and_shared_schemas_validate_without_files() {
    let response = json!({"status": "completed", "products": [], "cache_scope": "public"});
    assert_eq!(set().validate_response("get_products", &response), Ok(()));

    // A schema reached only through `$ref`s from another folder of the tree.
    let error = json!({"code": "INVALID_REQUEST", "message": "brief is required"});
    assert_eq!(set().validate_schema("core/error.json", &error), Ok(()));
    let issues = set()
        .validate_schema("core/error.json", &json!({"message": "no code"}))
        .expect_err("an error without a code is rejected");
    assert!(issues.iter().any(|i| i.keyword == "required"), "{issues:?}");
}
