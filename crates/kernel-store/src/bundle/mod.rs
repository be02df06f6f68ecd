//! Code bundles, as swing-store's bundleStore keeps them. A bundleID names its contents by
//! hash, so the store checks that the id matches before it keeps anything: a kernel that
//! later loads a vat by bundleID gets exactly that code. b0 bundles are kept as their JSON
//! text (TEXT) and b1 bundles as their raw zip (BLOB), the storage classes swing-store uses,
//! so either implementation reads the other's rows.
//!
//! The store is given the connection ([`Db`]) and the export log for each call, as
//! swing-store's `makeBundleStore(db, ensureTxn, noteExport)` is.

pub(crate) mod artifacts;
mod zip;

use rusqlite::types::ValueRef;

use crate::base64;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::export_log::ExportLog;
use crate::hex::sha256_hex;
use crate::sql::query_one;

/// swing-store's statement, exactly as it issues it. A NULL `bundle` is a record whose data
/// an import has not delivered yet.
pub(crate) const DDL: &[&str] = &["
    CREATE TABLE IF NOT EXISTS bundles (
      bundleID TEXT,
      bundle BLOB,
      PRIMARY KEY (bundleID)
    )
  "];

/// The store holds no options; the connection and export log come with each call.
#[derive(Clone, Copy, Debug, Default)]
pub struct BundleStore;

fn export_key(bundle_id: &str) -> String {
    format!("bundle.{bundle_id}")
}

/// The bundle given to `addBundle`, already reduced to what the store looks at.
///
/// A binding picks the variant by the bundleID's prefix: `b0-` ids need the JSON text, which
/// must be `JSON.stringify(bundle)` done in JS, since the id hashes V8's own property order.
/// Fields are passed as the template literals in swing-store would render them: a missing
/// `moduleFormat` as `"[undefined]"` (what `q(undefined)` shows), a missing
/// `endoZipBase64Sha512` as `"undefined"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BundleInput {
    B0 {
        module_format: String,
        json: String,
    },
    B1 {
        module_format: String,
        endo_zip_base64: String,
        endo_zip_base64_sha512: String,
    },
}

/// What `getBundle` finds: a b0 bundle's JSON text (for `JSON.parse`), or a b1 bundle's zip,
/// from which a binding rebuilds `{moduleFormat, endoZipBase64Sha512, endoZipBase64}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bundle {
    B0(String),
    B1 { zip_bytes: Vec<u8> },
}

/// What a bundle is stored as.
enum Serialized {
    Text(String),
    Blob(Vec<u8>),
}

impl BundleInput {
    fn module_format(&self) -> &str {
        match self {
            BundleInput::B0 { module_format, .. } | BundleInput::B1 { module_format, .. } => {
                module_format
            }
        }
    }

    /// swing-store's `serializeBundle`: the id's prefix decides the checks, in its order.
    /// An input of the other variant cannot hash to the id, so it is reported as a mismatch.
    fn serialize(&self, bundle_id: &str) -> Result<Serialized> {
        let mismatch = || Error::BundleIdMismatch {
            bundle_id: bundle_id.into(),
        };
        if let Some(hash) = bundle_id.strip_prefix("b0-") {
            if self.module_format() != "nestedEvaluate" {
                return Err(Error::UnsupportedModuleFormat {
                    prefix: "b0-",
                    module_format: self.module_format().into(),
                });
            }
            match self {
                BundleInput::B0 { json, .. } if sha256_hex(json) == hash => {
                    Ok(Serialized::Text(json.clone()))
                }
                _ => Err(mismatch()),
            }
        } else if let Some(hash) = bundle_id.strip_prefix("b1-") {
            if self.module_format() != "endoZipBase64" {
                return Err(Error::UnsupportedModuleFormat {
                    prefix: "b1-",
                    module_format: self.module_format().into(),
                });
            }
            match self {
                // The zip's SHA-512 is not checked here; only an import checks it.
                BundleInput::B1 {
                    endo_zip_base64,
                    endo_zip_base64_sha512,
                    ..
                } if endo_zip_base64_sha512 == hash => {
                    Ok(Serialized::Blob(base64::decode(endo_zip_base64)?))
                }
                _ => Err(mismatch()),
            }
        } else {
            Err(Error::UnsupportedBundleId {
                bundle_id: bundle_id.into(),
            })
        }
    }
}

impl BundleStore {
    /// Stores a bundle under its id after checking the id against it; nothing is written if
    /// a check fails. A duplicate id fails with SQLite's UNIQUE error, as in swing-store
    /// (the kernel asks `has` first).
    pub fn add(
        &self,
        db: &mut Db,
        exports: &mut ExportLog,
        bundle_id: &str,
        bundle: &BundleInput,
    ) -> Result<()> {
        let serialized = bundle.serialize(bundle_id)?;
        insert_record(db, bundle_id, "addBundle")?;
        populate(db, bundle_id, &serialized, "addBundle")?;
        exports.note(&export_key(bundle_id), Some(bundle_id));
        Ok(())
    }

    /// Whether the bundle is here with its data (a pruned row does not count).
    pub fn has(&self, db: &Db, bundle_id: &str) -> Result<bool> {
        db.conn()
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM bundles WHERE bundleID = ? AND bundle IS NOT NULL)",
            )
            .and_then(|mut stmt| stmt.query_row([bundle_id], |row| row.get(0)))
            .map_err(Error::sqlite("hasBundle"))
    }

    pub fn get(&self, db: &Db, bundle_id: &str) -> Result<Bundle> {
        let data = stored_data(db, bundle_id)?;
        if bundle_id.starts_with("b0-") {
            Ok(Bundle::B0(match String::from_utf8(data) {
                Ok(text) => text,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            }))
        } else if bundle_id.starts_with("b1-") {
            Ok(Bundle::B1 { zip_bytes: data })
        } else {
            Err(Error::StoredBundleIdUnsupported {
                bundle_id: bundle_id.into(),
            })
        }
    }

    /// Deletes a bundle and notes its record deleted; a bundle that is not here (or is
    /// pruned) is silently left as it is.
    pub fn delete(&self, db: &mut Db, exports: &mut ExportLog, bundle_id: &str) -> Result<()> {
        if !self.has(db, bundle_id)? {
            return Ok(());
        }
        db.execute(
            "DELETE FROM bundles WHERE bundleID = ?",
            [bundle_id],
            "deleteBundle",
        )?;
        exports.note(&export_key(bundle_id), None);
        Ok(())
    }
}

/// A bundle's stored bytes, with swing-store's errors for a missing or pruned one.
fn stored_data(db: &Db, bundle_id: &str) -> Result<Vec<u8>> {
    // `(is_text, bytes)` of the data, `None` when it is NULL.
    let row: Option<Option<(bool, Vec<u8>)>> = query_one(
        db.conn(),
        "SELECT bundle FROM bundles WHERE bundleID = ?",
        [bundle_id],
        "getBundle",
        |row| {
            Ok(match row.get_ref(0)? {
                ValueRef::Null => None,
                ValueRef::Text(bytes) => Some((true, bytes.to_vec())),
                ValueRef::Blob(bytes) => Some((false, bytes.to_vec())),
                ValueRef::Integer(i) => Some((false, i.to_string().into_bytes())),
                ValueRef::Real(f) => Some((false, f.to_string().into_bytes())),
            })
        },
    )?;
    let Some(row) = row else {
        return Err(Error::BundleNotFound {
            bundle_id: bundle_id.into(),
        });
    };
    // swing-store tests the data for truthiness: NULL and an empty string are pruned,
    // while any Buffer (even an empty one) is data.
    match row {
        Some((is_text, data)) if !(is_text && data.is_empty()) => Ok(data),
        _ => Err(Error::BundlePruned {
            bundle_id: bundle_id.into(),
        }),
    }
}

/// A bundle's row without its data (`addBundle`'s first step, and an import's record).
fn insert_record(db: &mut Db, bundle_id: &str, context: &'static str) -> Result<()> {
    db.execute(
        "INSERT INTO bundles (bundleID, bundle) VALUES (?, NULL)",
        [bundle_id],
        context,
    )
}

/// Fills a record's data, with the storage class swing-store gives it. Rows are inserted
/// empty and then populated, as swing-store does (its import fills rows the same way), so a
/// row's history is the same whichever implementation wrote it.
fn populate(db: &mut Db, bundle_id: &str, data: &Serialized, context: &'static str) -> Result<()> {
    let sql = "UPDATE bundles SET bundle = ? WHERE bundleID = ?";
    match data {
        Serialized::Text(text) => db.execute(sql, rusqlite::params![text, bundle_id], context),
        Serialized::Blob(bytes) => db.execute(sql, rusqlite::params![bytes, bundle_id], context),
    }
}
