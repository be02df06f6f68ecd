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

fn budget_error() -> Error {
    Error::InvalidArgValue {
        message: "budget must be undefined or positive".into(),
    }
}

/// Turns a JS `budget` argument (`undefined` is `None`) into the core's: `Infinity` means
/// "everything", and whatever is not at least 1 (NaN included) fails swing-store's assertion.
/// A budget SQLite cannot take as a `LIMIT` fails as SQLite fails it there.
pub fn budget_from_js(budget: Option<f64>) -> Result<Option<u64>> {
    let Some(budget) = budget else {
        return Ok(None);
    };
    if budget == f64::INFINITY {
        return Ok(None);
    }
    if budget.is_nan() || budget < 1.0 {
        return Err(budget_error());
    }
    // 2^63: the first double past SQLite's integers.
    if budget.fract() != 0.0 || budget >= 9_223_372_036_854_775_808.0 {
        return Err(Error::InvalidArgValue {
            message: "datatype mismatch".into(),
        });
    }
    Ok(Some(budget as u64))
}

#[cfg(test)]
mod tests {
    use super::budget_from_js;

    #[test]
    fn undefined_and_infinity_mean_everything() {
        assert_eq!(budget_from_js(None).unwrap(), None);
        assert_eq!(budget_from_js(Some(f64::INFINITY)).unwrap(), None);
        assert_eq!(budget_from_js(Some(3.0)).unwrap(), Some(3));
    }

    #[test]
    fn anything_below_one_fails_swing_stores_assertion() {
        for bad in [0.0, 0.5, -1.0, f64::NAN, f64::NEG_INFINITY] {
            assert_eq!(
                budget_from_js(Some(bad)).unwrap_err().to_string(),
                "budget must be undefined or positive"
            );
        }
    }

    #[test]
    fn a_fractional_budget_fails_as_sqlite_fails_its_limit() {
        assert_eq!(
            budget_from_js(Some(1.5)).unwrap_err().to_string(),
            "datatype mismatch"
        );
    }
}
