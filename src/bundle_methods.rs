//! `KernelStore`'s bundleStore methods. A b0 bundle's JSON text is made in JS (V8's property
//! order decides its ID), so the JS layer hands over text and fields, not objects.

use napi::bindgen_prelude::{Buffer, Either};
use napi_derive::napi;

use crate::args::{B0BundleJson, BundleId, EndoZipBase64, EndoZipBase64Sha512, ModuleFormat};
use crate::errors::JsErr;
use crate::handle::with_store;
use crate::kernel_store::KernelStore;

#[napi]
impl KernelStore {
    /// Adds a `b0-` bundle given as its `JSON.stringify` text and `moduleFormat`.
    #[napi(
        catch_unwind,
        ts_args_type = "bundleId: string, moduleFormat: string, json: string"
    )]
    pub fn add_bundle_b0(
        &self,
        bundle_id: BundleId,
        module_format: ModuleFormat,
        json: B0BundleJson,
    ) -> Result<(), JsErr> {
        let input = kernel_store::BundleInput::B0 {
            module_format: module_format.0,
            json: json.0,
        };
        with_store(&self.shared, |s| s.add_bundle(&bundle_id.0, &input))
    }

    /// Adds a `b1-` bundle given as its `moduleFormat`, `endoZipBase64` and
    /// `endoZipBase64Sha512` fields.
    #[napi(
        catch_unwind,
        ts_args_type = "bundleId: string, moduleFormat: string, endoZipBase64: string, endoZipBase64Sha512: string"
    )]
    pub fn add_bundle_b1(
        &self,
        bundle_id: BundleId,
        module_format: ModuleFormat,
        endo_zip_base64: EndoZipBase64,
        endo_zip_base64_sha512: EndoZipBase64Sha512,
    ) -> Result<(), JsErr> {
        let input = kernel_store::BundleInput::B1 {
            module_format: module_format.0,
            endo_zip_base64: endo_zip_base64.0,
            endo_zip_base64_sha512: endo_zip_base64_sha512.0,
        };
        with_store(&self.shared, |s| s.add_bundle(&bundle_id.0, &input))
    }

    /// Whether a bundle with data is stored under `bundleID`.
    #[napi(catch_unwind)]
    pub fn has_bundle(
        &self,
        #[napi(ts_arg_type = "string")] bundle_id: BundleId,
    ) -> Result<bool, JsErr> {
        with_store(&self.shared, |s| s.has_bundle(&bundle_id.0))
    }

    /// A stored bundle: a `b0-` bundle's JSON text, or a `b1-` bundle's zip bytes.
    #[napi(catch_unwind, ts_return_type = "string | Buffer")]
    pub fn get_bundle_data(
        &self,
        #[napi(ts_arg_type = "string")] bundle_id: BundleId,
    ) -> Result<Either<String, Buffer>, JsErr> {
        with_store(&self.shared, |s| s.get_bundle(&bundle_id.0)).map(|b| match b {
            kernel_store::Bundle::B0(json) => Either::A(json),
            kernel_store::Bundle::B1 { zip_bytes } => Either::B(zip_bytes.into()),
        })
    }

    /// Deletes a bundle (a silent no-op when there is none).
    #[napi(catch_unwind)]
    pub fn delete_bundle(
        &self,
        #[napi(ts_arg_type = "string")] bundle_id: BundleId,
    ) -> Result<(), JsErr> {
        with_store(&self.shared, |s| s.delete_bundle(&bundle_id.0))
    }
}
