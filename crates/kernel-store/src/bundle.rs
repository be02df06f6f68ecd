//! Code bundles, as swing-store's bundleStore keeps them (shared/spec/swing-store.md §5.3).
//! A bundleID names its contents by hash, so the store checks that the id matches before it
//! keeps anything: a kernel that later loads a vat by bundleID gets exactly that code.
//! b0 bundles are kept as their JSON text (TEXT) and b1 bundles as their raw zip (BLOB),
//! the storage classes swing-store uses, so either implementation reads the other's rows.

use rusqlite::types::ValueRef;
use rusqlite::OptionalExtension;

use crate::base64;
use crate::error::{Error, Result};
use crate::hex::sha256_hex;
use crate::KernelStore;

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

impl KernelStore {
    /// Stores a bundle under its id after checking the id against it; nothing is written if
    /// a check fails. A duplicate id fails with SQLite's UNIQUE error, as in swing-store
    /// (the kernel asks `has_bundle` first).
    pub fn add_bundle(&mut self, bundle_id: &str, bundle: &BundleInput) -> Result<()> {
        let serialized = bundle.serialize(bundle_id)?;
        self.ensure_txn()?;
        // Inserted empty, then populated, as swing-store does (its import fills rows the
        // same way), so a row's history is the same whichever implementation wrote it.
        self.execute(
            "INSERT INTO bundles (bundleID, bundle) VALUES (?, NULL)",
            [bundle_id],
            "addBundle",
        )?;
        let populate = "UPDATE bundles SET bundle = ? WHERE bundleID = ?";
        match &serialized {
            Serialized::Text(text) => {
                self.execute(populate, rusqlite::params![text, bundle_id], "addBundle")?
            }
            Serialized::Blob(bytes) => {
                self.execute(populate, rusqlite::params![bytes, bundle_id], "addBundle")?
            }
        }
        self.note_export(&format!("bundle.{bundle_id}"), Some(bundle_id));
        Ok(())
    }

    /// Whether the bundle is here with its data (a pruned row does not count).
    pub fn has_bundle(&self, bundle_id: &str) -> Result<bool> {
        self.conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM bundles WHERE bundleID = ? AND bundle IS NOT NULL)",
            )
            .and_then(|mut stmt| stmt.query_row([bundle_id], |row| row.get(0)))
            .map_err(Error::sqlite("hasBundle"))
    }

    pub fn get_bundle(&self, bundle_id: &str) -> Result<Bundle> {
        // `(is_text, bytes)` of the data, `None` when it is NULL.
        let row: Option<Option<(bool, Vec<u8>)>> = self
            .conn
            .prepare_cached("SELECT bundle FROM bundles WHERE bundleID = ?")
            .and_then(|mut stmt| {
                stmt.query_row([bundle_id], |row| {
                    Ok(match row.get_ref(0)? {
                        ValueRef::Null => None,
                        ValueRef::Text(bytes) => Some((true, bytes.to_vec())),
                        ValueRef::Blob(bytes) => Some((false, bytes.to_vec())),
                        ValueRef::Integer(i) => Some((false, i.to_string().into_bytes())),
                        ValueRef::Real(f) => Some((false, f.to_string().into_bytes())),
                    })
                })
                .optional()
            })
            .map_err(Error::sqlite("getBundle"))?;
        let Some(row) = row else {
            return Err(Error::BundleNotFound {
                bundle_id: bundle_id.into(),
            });
        };
        // swing-store tests the data for truthiness: NULL and an empty string are pruned,
        // while any Buffer (even an empty one) is data.
        let data = match row {
            Some((is_text, data)) if !(is_text && data.is_empty()) => data,
            _ => {
                return Err(Error::BundlePruned {
                    bundle_id: bundle_id.into(),
                })
            }
        };
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
    pub fn delete_bundle(&mut self, bundle_id: &str) -> Result<()> {
        if !self.has_bundle(bundle_id)? {
            return Ok(());
        }
        self.ensure_txn()?;
        self.execute(
            "DELETE FROM bundles WHERE bundleID = ?",
            [bundle_id],
            "deleteBundle",
        )?;
        self.note_export(&format!("bundle.{bundle_id}"), None);
        Ok(())
    }
}
