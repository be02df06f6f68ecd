//! Capdata (`{ body, slots }`) as the kernel stores it: written as `JSON.stringify` writes a
//! `{body, slots}` object, read back tolerantly enough to decrement whatever an older kernel
//! retained.

use crate::error::{Error, Result};
use crate::ids::{Kref, KrefKind};
use crate::json::quote;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapData {
    pub body: String,
    pub slots: Vec<String>,
}

impl CapData {
    /// What `kser(undefined)` produces: the kernel's vatParameters when none were given.
    pub fn undefined() -> CapData {
        CapData {
            body: "#\"#undefined\"".to_owned(),
            slots: Vec::new(),
        }
    }

    /// Refuses slots that are not object or device krefs (promises are forbidden in
    /// vatParameters, and anything else is not a kref).
    pub fn validate_as_vat_parameters(&self) -> Result<()> {
        for slot in &self.slots {
            match Kref::parse(slot.as_bytes()).map(|k| k.kind) {
                Some(KrefKind::Promise) => {
                    return Err(Error::PromiseInVatParameters { slot: slot.clone() })
                }
                Some(_) => {}
                None => {
                    return Err(Error::InvalidCapData {
                        message: format!(
                            "vatParameters.slots must hold krefs (koNN or kdNN), not {}",
                            quote(slot)
                        ),
                    })
                }
            }
        }
        Ok(())
    }

    /// `JSON.stringify({ body, slots })`: compact, `body` first.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(self.body.len() + 24 + self.slots.len() * 8);
        out.push_str("{\"body\":");
        out.push_str(&quote(&self.body));
        out.push_str(",\"slots\":[");
        for (i, slot) in self.slots.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&quote(slot));
        }
        out.push_str("]}");
        out
    }

    /// Parses a stored `vNN.vatParameters` value; `key` names it in the error.
    pub fn from_stored_json(key: &str, json: &str) -> Result<CapData> {
        let corrupt = || Error::CorruptValue {
            key: key.to_owned(),
            expected: "JSON capdata {\"body\":string,\"slots\":[string...]}",
            found: json.to_owned(),
        };
        let value: serde_json::Value = serde_json::from_str(json).map_err(|_| corrupt())?;
        let body = match value.get("body") {
            Some(serde_json::Value::String(body)) => body.clone(),
            _ => return Err(corrupt()),
        };
        let slots = match value.get("slots") {
            Some(serde_json::Value::Array(slots)) => slots
                .iter()
                .map(|s| s.as_str().map(str::to_owned).ok_or_else(corrupt))
                .collect::<Result<Vec<_>>>()?,
            _ => return Err(corrupt()),
        };
        Ok(CapData { body, slots })
    }

    /// Only the slots of a stored value, as the kernel's `JSON.parse(old).slots` reads them.
    pub fn stored_slots(key: &str, json: &str) -> Result<Vec<String>> {
        let corrupt = || Error::CorruptValue {
            key: key.to_owned(),
            expected: "JSON capdata with a \"slots\" array of strings",
            found: json.to_owned(),
        };
        let value: serde_json::Value = serde_json::from_str(json).map_err(|_| corrupt())?;
        match value.get("slots") {
            Some(serde_json::Value::Array(slots)) => slots
                .iter()
                .map(|s| s.as_str().map(str::to_owned).ok_or_else(corrupt))
                .collect(),
            _ => Err(corrupt()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_bytes_json_stringify_writes() {
        let cd = CapData {
            body: "#{\"marker\":\"$0.Alleged: marker\",\"number\":1}".to_owned(),
            slots: vec!["ko26".to_owned()],
        };
        assert_eq!(
            cd.to_json(),
            r##"{"body":"#{\"marker\":\"$0.Alleged: marker\",\"number\":1}","slots":["ko26"]}"##
        );
        assert_eq!(
            CapData::undefined().to_json(),
            r##"{"body":"#\"#undefined\"","slots":[]}"##
        );
    }

    #[test]
    fn round_trips_through_stored_json() {
        let cd = CapData {
            body: "#[\"€\\n\"]".to_owned(),
            slots: vec!["ko1".into(), "kd30".into()],
        };
        assert_eq!(
            CapData::from_stored_json("v1.vatParameters", &cd.to_json()).unwrap(),
            cd
        );
    }

    #[test]
    fn refuses_promises_and_non_krefs_in_vat_parameters() {
        let with = |slot: &str| CapData {
            body: "#0".into(),
            slots: vec![slot.to_owned()],
        };
        assert_eq!(
            with("kp40")
                .validate_as_vat_parameters()
                .unwrap_err()
                .code(),
            "ERR_PROMISE_IN_VATPARAMETERS"
        );
        assert_eq!(
            with("o+1").validate_as_vat_parameters().unwrap_err().code(),
            "ERR_INVALID_CAPDATA"
        );
        assert!(with("kd30").validate_as_vat_parameters().is_ok());
    }

    #[test]
    fn corrupt_stored_values_name_their_key() {
        let err = CapData::from_stored_json("v3.vatParameters", "not json").unwrap_err();
        assert_eq!(err.code(), "ERR_CORRUPT_VALUE");
        assert!(err.to_string().contains("\"v3.vatParameters\""));
        assert_eq!(
            CapData::stored_slots("k", r#"{"slots":["ko1"]}"#).unwrap(),
            ["ko1"]
        );
    }
}
