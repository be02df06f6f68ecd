//! Bundles in exports and imports: export-data records, artifacts (a b0 bundle's JSON text,
//! a b1 bundle's zip) read out and validated back in against their IDs, the completeness
//! check, metadata repair and the debugging dump. The messages are swing-store's (and, for a
//! b1 archive's integrity, Endo's), because hosts and its own tests match them.

use std::collections::HashSet;

use serde_json::Value;
use sha2::{Digest, Sha512};

use super::{export_key, insert_record, populate, stored_data, zip, Serialized};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::hex;
use crate::json::quote;
use crate::sql::query_all;

/// swing-store's `bundleIDFromName`: `bundle.<bundleID>`, the ID itself holding no dot.
pub fn bundle_id_from_name(name: &str) -> Result<&str> {
    match name.split_once('.') {
        Some(("bundle", id)) if !id.contains('.') => Ok(id),
        _ => Err(Error::InvalidArtifactName {
            message: format!(
                "expected artifact name of the form 'bundle.{{bundleID}}', saw {}",
                quote(name)
            ),
        }),
    }
}

/// Up to `limit` bundle IDs after `after`, in order: with each one's export record
/// (`bundle.<id>` = `<id>`) and artifact name (`bundle.<id>`).
pub fn ids_after(db: &Db, after: Option<&str>, limit: usize) -> Result<Vec<String>> {
    query_all(
        db.conn(),
        "SELECT bundleID FROM bundles WHERE bundleID > ? ORDER BY bundleID LIMIT ?",
        rusqlite::params![
            after.unwrap_or(""),
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        "bundle listing",
        |row| row.get(0),
    )
}

/// A bundle's export-data record.
pub fn export_record(bundle_id: &str) -> (String, String) {
    (export_key(bundle_id), bundle_id.to_owned())
}

/// A bundle artifact's bytes: what the store holds for it.
pub fn artifact(db: &Db, name: &str) -> Result<Vec<u8>> {
    stored_data(db, bundle_id_from_name(name)?)
}

/// The record of an export-data entry, checked to name its own bundle.
fn record_id<'a>(key: &'a str, value: &str) -> Result<&'a str> {
    let bundle_id = bundle_id_from_name(key)?;
    if bundle_id != value {
        return Err(Error::InvalidExportData {
            message: format!("Expected {} is same as {}", quote(bundle_id), quote(value)),
        });
    }
    Ok(bundle_id)
}

/// swing-store's `importBundleRecord`: the bundle's row, its data to come.
pub fn import_record(db: &mut Db, key: &str, value: &str) -> Result<()> {
    insert_record(db, record_id(key, value)?, "importBundleRecord")
}

/// swing-store's `repairBundleRecord`: a bundle is never historical, so a record for a
/// bundle the store lacks is an error, not a repair.
pub fn repair_record(db: &mut Db, key: &str, value: &str) -> Result<()> {
    db.ensure_txn()?;
    let bundle_id = record_id(key, value)?;
    let known: bool = db
        .conn()
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM bundles WHERE bundleID = ?)")
        .and_then(|mut stmt| stmt.query_row([bundle_id], |row| row.get(0)))
        .map_err(Error::sqlite("repairBundleRecord"))?;
    if known {
        return Ok(());
    }
    Err(Error::RepairMismatch {
        message: format!(
            "unexpected new bundle record for {} during repair",
            quote(bundle_id)
        ),
    })
}

/// A bundle artifact being imported; bundles are small, so its bytes are gathered and
/// checked whole at the end.
#[derive(Debug)]
pub struct BundleImport {
    name: String,
    bytes: Vec<u8>,
}

impl BundleImport {
    pub fn begin(name: &str) -> Result<BundleImport> {
        bundle_id_from_name(name)?;
        Ok(BundleImport {
            name: name.to_owned(),
            bytes: Vec::new(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn write(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
    }

    /// Checks the bytes against the bundle ID and fills the bundle's record.
    pub fn finish(self, db: &mut Db) -> Result<()> {
        let bundle_id = bundle_id_from_name(&self.name)?;
        let serialized = if let Some(hash) = bundle_id.strip_prefix("b0-") {
            let json = rebuilt_b0(bundle_id, &self.bytes)?;
            if hex::sha256_hex(&json) != hash {
                return Err(mismatch(bundle_id));
            }
            Serialized::Text(json)
        } else if let Some(hash) = bundle_id.strip_prefix("b1-") {
            check_archive(&self.bytes, hash, bundle_id)?;
            Serialized::Blob(self.bytes)
        } else {
            return Err(Error::UnsupportedBundleId {
                bundle_id: bundle_id.to_owned(),
            });
        };
        let known: bool = db
            .conn()
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM bundles WHERE bundleID = ?)")
            .and_then(|mut stmt| stmt.query_row([bundle_id], |row| row.get(0)))
            .map_err(Error::sqlite("importBundle"))?;
        if !known {
            return Err(Error::NoArtifactMetadata {
                message: format!("missing {}", quote(bundle_id)),
            });
        }
        populate(db, bundle_id, &serialized, "importBundle")
    }
}

fn mismatch(bundle_id: &str) -> Error {
    Error::ArtifactHashMismatch {
        message: format!(
            "bundleID {} does not match bundle artifact",
            quote(bundle_id)
        ),
    }
}

/// A b0 artifact reassembled as swing-store reassembles it, keeping only the three
/// properties a nestedEvaluate bundle has, in their order, so nothing else can ride along.
fn rebuilt_b0(bundle_id: &str, bytes: &[u8]) -> Result<String> {
    let text = String::from_utf8_lossy(bytes);
    let parsed: Value = serde_json::from_str(&text).map_err(|e| Error::InvalidExportData {
        message: format!("bundle artifact {} is not JSON: {e}", quote(bundle_id)),
    })?;
    let mut json = String::from("{");
    for name in ["moduleFormat", "source", "sourceMap"] {
        match parsed.get(name) {
            // JSON.stringify leaves out a property whose value is undefined.
            None => {}
            Some(value) => {
                if json.len() > 1 {
                    json.push(',');
                }
                json.push_str(&quote(name));
                json.push(':');
                match value {
                    Value::String(s) => json.push_str(&quote(s)),
                    other => json.push_str(&other.to_string()),
                }
            }
        }
    }
    json.push('}');
    Ok(json)
}

/// Endo's archive integrity check (`checkBundle`): the compartment map hashes to the ID, each
/// module hashes to what the map says, and the archive holds nothing the map does not name.
fn check_archive(archive: &[u8], expected: &str, bundle_id: &str) -> Result<()> {
    let fail = |message: String| Error::ArtifactHashMismatch { message };
    let files =
        zip::read_stored(archive).map_err(|e| fail(format!("{e}, for archive {bundle_id}")))?;
    if files.len() < 2 {
        return Err(fail(format!(
            "Archive failed sanity check: should contain at least a compartment map file and one module file in {}",
            quote(bundle_id)
        )));
    }
    let sha512 = |bytes: &[u8]| hex::encode(&Sha512::digest(bytes));
    let map_bytes = files.get("compartment-map.json").ok_or_else(|| {
        fail(format!(
            "Archive has no compartment-map.json, for archive {bundle_id}"
        ))
    })?;
    let actual = sha512(map_bytes);
    if actual != expected {
        return Err(fail(format!(
            "Archive compartment map failed a SHA-512 integrity check, expected {expected}, got {actual}, for archive {bundle_id}"
        )));
    }
    let map: Value = serde_json::from_slice(map_bytes).map_err(|e| {
        fail(format!(
            "Cannot parse compartment-map.json: {e}, for archive {bundle_id}"
        ))
    })?;
    let mut used: HashSet<&str> = HashSet::from(["compartment-map.json"]);
    let compartments = map.get("compartments").and_then(Value::as_object);
    for compartment in compartments.into_iter().flat_map(|c| c.values()) {
        let base = compartment
            .get("location")
            .and_then(Value::as_str)
            .unwrap_or("");
        let modules = compartment.get("modules").and_then(Value::as_object);
        for (specifier, module) in modules.into_iter().flat_map(|m| m.iter()) {
            let (Some(location), Some(hash)) = (
                module.get("location").and_then(Value::as_str),
                module.get("sha512").and_then(Value::as_str),
            ) else {
                continue;
            };
            let path = format!("{base}/{location}");
            let (name, bytes) = files.get_key_value(path.as_str()).ok_or_else(|| {
                fail(format!(
                    "Cannot find file for module {specifier} at {path} in archive {bundle_id}"
                ))
            })?;
            if sha512(bytes) != hash {
                return Err(fail(format!(
                    "Module {} of compartment {} failed a SHA-512 integrity check, for archive {bundle_id}",
                    quote(specifier),
                    quote(base)
                )));
            }
            used.insert(name.as_str());
        }
    }
    let unused: Vec<&str> = files
        .keys()
        .map(String::as_str)
        .filter(|f| !used.contains(f))
        .collect();
    if !unused.is_empty() {
        return Err(fail(format!(
            "Archive contains extraneous files: {}, in {}",
            quote(&unused.join(",")),
            quote(bundle_id)
        )));
    }
    Ok(())
}

/// Every bundle must have its data: there are no historical bundles.
pub fn assert_complete(db: &Db) -> Result<()> {
    let pruned: Vec<String> = query_all(
        db.conn(),
        "SELECT bundleID FROM bundles WHERE bundle IS NULL ORDER BY bundleID",
        [],
        "bundle completeness",
        |row| row.get(0),
    )?;
    if pruned.is_empty() {
        return Ok(());
    }
    Err(Error::IncompleteArtifacts {
        message: format!("missing bundles for: {}", quote(&pruned.join(","))),
    })
}

/// swing-store's `dumpBundles`: each bundle's stored bytes, base64-encoded, by ID.
pub fn dump(db: &Db) -> Result<Vec<(String, String)>> {
    query_all(
        db.conn(),
        "SELECT bundleID, bundle FROM bundles ORDER BY bundleID",
        [],
        "dumpBundles",
        |row| {
            let bytes = match row.get_ref(1)? {
                rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) => b,
                _ => &[],
            };
            Ok((row.get(0)?, crate::base64::encode(bytes)))
        },
    )
}
