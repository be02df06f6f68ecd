//! Export-data rows packed for one boundary crossing per page: one string holding every key
//! and value, and where each ends. Creating two strings and an array per row through N-API
//! cost more than reading the row; JS slices the strings out of the page instead.

use napi_derive::napi;

use crate::args::JsU32s;

/// The text a page takes before it ends early, whatever the row count asked for: a page is
/// then a bounded piece of memory, far below V8's longest string.
const PAGE_TEXT_BYTES: usize = 8 << 20;

/// `[key, value]` rows: every key and value one after another in `text`, and where each ends
/// in `ends`, in UTF-16 code units (as JS indexes strings). Row `r`'s key is
/// `text.slice(r === 0 ? 0 : ends[2r - 1], ends[2r])`, its value
/// `text.slice(ends[2r], ends[2r + 1])`. No rows is the end of the iteration.
#[napi(object, object_from_js = false)]
pub struct ExportDataPage {
    pub text: String,
    #[napi(ts_type = "Uint32Array")]
    pub ends: JsU32s,
}

/// Builds a page from the rows the store reads.
#[derive(Default)]
pub(crate) struct PageBuilder {
    text: String,
    ends: Vec<u32>,
    units: usize,
}

impl PageBuilder {
    /// Stored text as JS would decode it alone: bytes that are not UTF-8 become U+FFFD.
    fn push(&mut self, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        self.units += if text.is_ascii() {
            text.len()
        } else {
            text.encode_utf16().count()
        };
        self.text.push_str(&text);
        // SQLite holds no value longer than 10^9 bytes and a page stops taking rows past
        // PAGE_TEXT_BYTES, so an end never exceeds u32.
        self.ends
            .push(u32::try_from(self.units).unwrap_or(u32::MAX));
    }

    pub(crate) fn finish(self) -> ExportDataPage {
        ExportDataPage {
            text: self.text,
            ends: JsU32s(self.ends),
        }
    }
}

impl kernel_store::RowSink for PageBuilder {
    fn row(&mut self, key: &[u8], value: &[u8]) {
        self.push(key);
        self.push(value);
    }

    fn is_full(&self) -> bool {
        self.text.len() >= PAGE_TEXT_BYTES
    }
}
