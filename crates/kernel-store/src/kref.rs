//! Kernel references (`koNN`, `kpNN`, `kdNN`), parsed strictly: the kernel only ever writes
//! `k[opd]` followed by a decimal number, so anything else is refused rather than guessed at.

use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KrefKind {
    Object,
    Promise,
    Device,
}

impl KrefKind {
    pub fn parse(kref: &str) -> Result<KrefKind> {
        let kind = match kref.get(..2) {
            Some("ko") => KrefKind::Object,
            Some("kp") => KrefKind::Promise,
            Some("kd") => KrefKind::Device,
            _ => {
                return Err(Error::InvalidKref {
                    kref: kref.to_owned(),
                })
            }
        };
        let digits = &kref[2..];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::InvalidKref {
                kref: kref.to_owned(),
            });
        }
        Ok(kind)
    }
}

/// The key holding a kref's refcount.
pub fn ref_count_key(kref: &str) -> String {
    let mut key = String::with_capacity(kref.len() + 9);
    key.push_str(kref);
    key.push_str(".refCount");
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_kinds() {
        assert_eq!(KrefKind::parse("ko26").unwrap(), KrefKind::Object);
        assert_eq!(KrefKind::parse("kp40").unwrap(), KrefKind::Promise);
        assert_eq!(KrefKind::parse("kd30").unwrap(), KrefKind::Device);
    }

    #[test]
    fn refuses_anything_else() {
        for bad in [
            "", "ko", "o+1", "ko-1", "ko1.5", "ko 1", "kx1", "KO1", "ko1a", "é",
        ] {
            assert_eq!(
                KrefKind::parse(bad).unwrap_err().code(),
                "ERR_INVALID_KREF",
                "{bad:?}"
            );
        }
    }
}
