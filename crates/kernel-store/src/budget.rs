//! Budgeted deletion of a terminated vat's transcripts and snapshots. The kernel deletes a
//! dead vat a few rows per block so one termination cannot stall a block; both stores share
//! swing-store's budget rule and its `{done, cleanups}` answer.

use crate::error::{Error, Result};

/// What `deleteVatTranscripts` / `deleteVatSnapshots` return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deletion {
    /// Nothing of the vat is left in this store (so the kernel can stop asking).
    pub done: bool,
    /// How many spans or snapshots this call deleted.
    pub cleanups: u64,
}

/// swing-store asserts this before it deletes anything.
pub(crate) fn check_budget(budget: Option<u64>) -> Result<()> {
    match budget {
        Some(0) => Err(budget_error()),
        _ => Ok(()),
    }
}

/// swing-store's assertion on a budget that is not at least 1.
pub fn budget_error() -> Error {
    Error::InvalidArgValue {
        message: "budget must be undefined or positive".into(),
    }
}
