//! Core errors become JS `Error`s whose `code` is the core's stable code.

use napi::bindgen_prelude::Status;

/// A JS error as the generated glue throws it: `status` becomes the `code` property.
pub type JsErr = napi::Error<&'static str>;

/// Like [`to_js`], but argument-type errors are thrown as `TypeError`s, which needs the env.
pub fn to_js_typed(env: &napi::Env, error: kernel_store::Error) -> JsErr {
    if error.is_type_error() {
        let message = error.to_string();
        if env.throw_type_error(&message, Some(error.code())).is_ok() {
            return JsErr::new(pending(), String::new());
        }
    }
    to_js(error)
}

pub fn to_js(error: kernel_store::Error) -> JsErr {
    match error {
        // The host's own exception is already pending; let it propagate untouched.
        kernel_store::Error::ExportCallback => JsErr::new(pending(), String::new()),
        other => JsErr::new(other.code(), other.to_string()),
    }
}

/// The status string napi-rs recognises as "a JS exception is already pending".
pub fn pending() -> &'static str {
    Status::PendingException.as_ref()
}

/// `new` on a class whose instances only the store hands out: a `TypeError`, as Node throws
/// for its own non-public constructors.
pub fn illegal_constructor(env: &napi::Env, message: &str) -> JsErr {
    match env.throw_type_error(message, Some("ERR_ILLEGAL_CONSTRUCTOR")) {
        Ok(()) => JsErr::new(pending(), String::new()),
        Err(_) => JsErr::new("ERR_ILLEGAL_CONSTRUCTOR", message.to_owned()),
    }
}

pub fn closed() -> JsErr {
    to_js(kernel_store::Error::Closed)
}

/// A spent or closed exporter, importer or artifact import, named, where a store's own
/// closed error keeps swing-store's message.
pub fn spent(what: &str) -> JsErr {
    JsErr::new("ERR_CLOSED", format!("{what}: it is closed or finished"))
}

pub fn reentrant() -> JsErr {
    JsErr::new(
        "ERR_REENTRANT",
        "the store is busy: it cannot be called from inside its own export callback".to_owned(),
    )
}
