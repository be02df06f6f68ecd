//! Bundles behave as swing-store's bundleStore: ids checked against contents before anything
//! is written, b0 kept as JSON text and b1 as raw zip bytes, swing-store's messages, and
//! `bundle.<id>` export records (docs/design.md §4).

mod common;

use common::*;
use kernel_store::{base64, Bundle, BundleInput};

const B0_JSON: &str = r#"{"moduleFormat":"nestedEvaluate","source":"x"}"#;
const B0_ID: &str = "b0-9e63f246311df47577404bfb91e9c6e7435bfb2f250cb1993bf9acdc0aab792a";
const ZIP: &[u8] = b"PK\x03\x04 not really a zip \xff\x00";
const B1_ID: &str = "b1-5eed";

fn b0(json: &str) -> BundleInput {
    BundleInput::B0 {
        module_format: "nestedEvaluate".into(),
        json: json.into(),
    }
}

fn b1_with(module_format: &str, base64: &str, sha512: &str) -> BundleInput {
    BundleInput::B1 {
        module_format: module_format.into(),
        endo_zip_base64: base64.into(),
        endo_zip_base64_sha512: sha512.into(),
    }
}

fn b1() -> BundleInput {
    b1_with("endoZipBase64", &base64::encode(ZIP), "5eed")
}

fn add_error(bundle_id: &str, bundle: &BundleInput) -> kernel_store::Error {
    let mut store = memory_store();
    store.add_bundle(bundle_id, bundle).unwrap_err()
}

#[test]
fn a_b0_bundle_is_accepted_under_the_sha256_of_its_json_text() {
    let mut store = memory_store();
    store.add_bundle(B0_ID, &b0(B0_JSON)).unwrap();
    assert!(store.has_bundle(B0_ID).unwrap());
    assert_eq!(store.get_bundle(B0_ID).unwrap(), Bundle::B0(B0_JSON.into()));
}

#[test]
fn a_b1_bundle_is_kept_as_its_decoded_zip() {
    let mut store = memory_store();
    store.add_bundle(B1_ID, &b1()).unwrap();
    assert_eq!(
        store.get_bundle(B1_ID).unwrap(),
        Bundle::B1 {
            zip_bytes: ZIP.to_vec()
        }
    );
}

#[test]
fn b0_bundles_are_stored_as_text_and_b1_bundles_as_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = disk_store(dir.path());
    store.add_bundle(B0_ID, &b0(B0_JSON)).unwrap();
    store.add_bundle(B1_ID, &b1()).unwrap();
    commit(&mut store);
    let conn = raw_connection(&store);
    let class = |id: &str| -> String {
        conn.query_row(
            "SELECT typeof(bundle) FROM bundles WHERE bundleID = ?",
            [id],
            |row| row.get(0),
        )
        .unwrap()
    };
    assert_eq!(class(B0_ID), "text");
    assert_eq!(class(B1_ID), "blob");
}

#[test]
fn adding_a_bundle_exports_its_id_under_bundle_dot_id() {
    let mut store = memory_store_with_exports();
    store.add_bundle(B1_ID, &b1()).unwrap();
    assert_eq!(
        commit_capturing(&mut store),
        vec![row(&format!("bundle.{B1_ID}"), Some(B1_ID))]
    );
}

#[test]
fn a_b0_id_needs_the_nested_evaluate_format() {
    let bundle = BundleInput::B0 {
        module_format: "getExport".into(),
        json: B0_JSON.into(),
    };
    let err = add_error(B0_ID, &bundle);
    assert_eq!(
        err.to_string(),
        "unsupported b0- module format \"getExport\""
    );
    assert_eq!(err.code(), "ERR_UNSUPPORTED_MODULE_FORMAT");
}

#[test]
fn a_b1_id_needs_the_endo_zip_base64_format() {
    let bundle = b1_with("nestedEvaluate", &base64::encode(ZIP), "5eed");
    assert_eq!(
        add_error(B1_ID, &bundle).to_string(),
        "unsupported b1- module format \"nestedEvaluate\""
    );
}

#[test]
fn a_missing_module_format_is_reported_as_q_shows_undefined() {
    let bundle = b1_with("[undefined]", &base64::encode(ZIP), "5eed");
    assert_eq!(
        add_error(B1_ID, &bundle).to_string(),
        "unsupported b1- module format \"[undefined]\""
    );
}

#[test]
fn a_b0_id_must_be_the_hash_of_the_json_text() {
    let other = r#"{"source":"x","moduleFormat":"nestedEvaluate"}"#;
    let err = add_error(B0_ID, &b0(other));
    assert_eq!(
        err.to_string(),
        format!("bundleID \"{B0_ID}\" does not match bundle")
    );
    assert_eq!(err.code(), "ERR_BUNDLE_ID_MISMATCH");
}

#[test]
fn a_b1_id_must_carry_the_bundles_sha512() {
    let bundle = b1_with("endoZipBase64", &base64::encode(ZIP), "0ther");
    assert_eq!(
        add_error(B1_ID, &bundle).to_string(),
        format!("bundleID \"{B1_ID}\" does not match bundle")
    );
}

#[test]
fn b1_contents_are_not_checked_against_their_sha512() {
    let mut store = memory_store();
    let bundle = b1_with("endoZipBase64", &base64::encode(b"anything"), "5eed");
    store.add_bundle(B1_ID, &bundle).unwrap();
    assert!(store.has_bundle(B1_ID).unwrap());
}

#[test]
fn an_input_of_the_other_kind_does_not_match_the_id() {
    let b0_under_b1 = BundleInput::B0 {
        module_format: "endoZipBase64".into(),
        json: B0_JSON.into(),
    };
    assert_eq!(
        add_error(B1_ID, &b0_under_b1).to_string(),
        format!("bundleID \"{B1_ID}\" does not match bundle")
    );
}

#[test]
fn ids_without_a_known_version_prefix_are_unsupported() {
    let err = add_error("b2-abc", &b1());
    assert_eq!(err.to_string(), "unsupported BundleID \"b2-abc\"");
    assert_eq!(err.code(), "ERR_UNSUPPORTED_BUNDLE_ID");
}

#[test]
fn base64_with_a_character_outside_the_standard_alphabet_is_refused() {
    let bundle = b1_with("endoZipBase64", "UEsD-A==", "5eed");
    let err = add_error(B1_ID, &bundle);
    assert_eq!(
        err.to_string(),
        "Invalid base64 character - in string <unknown>"
    );
    assert_eq!(err.code(), "ERR_INVALID_BASE64");
}

#[test]
fn base64_without_its_padding_is_refused() {
    let bundle = b1_with("endoZipBase64", "UEsDBA", "5eed");
    assert_eq!(
        add_error(B1_ID, &bundle).to_string(),
        "Missing padding at offset 6 of string <unknown>"
    );
}

#[test]
fn base64_with_a_trailing_equals_sign_is_refused() {
    let bundle = b1_with("endoZipBase64", "UEsDBA===", "5eed");
    assert_eq!(
        add_error(B1_ID, &bundle).to_string(),
        "Base64 string has trailing garbage = in string <unknown>"
    );
}

#[test]
fn a_refused_bundle_leaves_nothing_behind() {
    let mut store = memory_store_with_exports();
    let bundle = b1_with("endoZipBase64", "not base64!", "5eed");
    assert!(store.add_bundle(B1_ID, &bundle).is_err());
    assert!(!store.has_bundle(B1_ID).unwrap());
    assert_eq!(commit_capturing(&mut store), vec![]);
    store.add_bundle(B1_ID, &b1()).unwrap();
}

#[test]
fn adding_the_same_bundle_twice_fails_with_sqlites_unique_error() {
    let mut store = memory_store();
    store.add_bundle(B0_ID, &b0(B0_JSON)).unwrap();
    assert_eq!(
        store
            .add_bundle(B0_ID, &b0(B0_JSON))
            .unwrap_err()
            .to_string(),
        "UNIQUE constraint failed: bundles.bundleID"
    );
}

#[test]
fn an_unknown_bundle_is_not_found() {
    let store = memory_store();
    assert!(!store.has_bundle(B1_ID).unwrap());
    let err = store.get_bundle(B1_ID).unwrap_err();
    assert_eq!(err.to_string(), format!("bundle \"{B1_ID}\" not found"));
    assert_eq!(err.code(), "ERR_BUNDLE_NOT_FOUND");
}

#[test]
fn a_row_without_data_is_pruned_and_does_not_count_as_present() {
    let dir = tempfile::tempdir().unwrap();
    let store = disk_store(dir.path());
    raw_connection(&store)
        .execute(
            "INSERT INTO bundles (bundleID, bundle) VALUES (?, NULL)",
            [B1_ID],
        )
        .unwrap();
    assert!(!store.has_bundle(B1_ID).unwrap());
    let err = store.get_bundle(B1_ID).unwrap_err();
    assert_eq!(err.to_string(), format!("bundle \"{B1_ID}\" pruned"));
    assert_eq!(err.code(), "ERR_BUNDLE_PRUNED");
}

#[test]
fn deleting_a_bundle_removes_it_and_its_export_record() {
    let mut store = memory_store_with_exports();
    store.add_bundle(B0_ID, &b0(B0_JSON)).unwrap();
    commit(&mut store);
    store.delete_bundle(B0_ID).unwrap();
    assert!(!store.has_bundle(B0_ID).unwrap());
    assert_eq!(
        commit_capturing(&mut store),
        vec![row(&format!("bundle.{B0_ID}"), None)]
    );
}

#[test]
fn deleting_an_absent_bundle_does_nothing() {
    let mut store = memory_store_with_exports();
    store.delete_bundle(B0_ID).unwrap();
    assert_eq!(commit_capturing(&mut store), vec![]);
}

#[test]
fn rolling_back_a_crank_undoes_an_added_bundle_and_its_record() {
    let mut store = memory_store_with_exports();
    store.start_crank().unwrap();
    store.establish_crank_savepoint("deliver").unwrap();
    store.add_bundle(B1_ID, &b1()).unwrap();
    store.rollback_crank("deliver").unwrap();
    assert_eq!(end_crank_capturing(&mut store), vec![]);
    assert!(!store.has_bundle(B1_ID).unwrap());
}

#[test]
fn a_reopened_store_reads_back_its_bundles() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = disk_store(dir.path());
    store.add_bundle(B0_ID, &b0(B0_JSON)).unwrap();
    store.add_bundle(B1_ID, &b1()).unwrap();
    commit(&mut store);
    store.close().unwrap();

    let store = disk_store(dir.path());
    assert_eq!(store.get_bundle(B0_ID).unwrap(), Bundle::B0(B0_JSON.into()));
    assert_eq!(
        store.get_bundle(B1_ID).unwrap(),
        Bundle::B1 {
            zip_bytes: ZIP.to_vec()
        }
    );
}
