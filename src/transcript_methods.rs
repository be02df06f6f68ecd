//! `KernelStore`'s transcriptStore methods (swing-store's kernel facet), plus a paged span
//! reader: the JS layer turns its pages into `readSpan`'s iterator without holding a SQLite
//! statement open across calls.

use napi::bindgen_prelude::{Either, Env, Undefined};
use napi_derive::napi;

use crate::args::{BudgetArg, PageLimit, SpanStartArg, TranscriptItem, VatId};
use crate::errors::{illegal_constructor, JsErr};
use crate::handle::{with_open, with_store, with_store_typed, Shared};
use crate::kernel_store::KernelStore;

/// The current span of a vat's transcript.
#[napi(object)]
pub struct SpanBounds {
    pub start_pos: f64,
    pub end_pos: f64,
    pub hash: String,
    pub incarnation: f64,
}

/// What a budgeted deletion did.
#[napi(object)]
pub struct Deletion {
    /// Whether nothing of the vat's is left to delete.
    pub done: bool,
    /// How many spans (or snapshots) were deleted.
    pub cleanups: f64,
}

impl From<kernel_store::Deletion> for Deletion {
    fn from(d: kernel_store::Deletion) -> Self {
        Deletion {
            done: d.done,
            cleanups: d.cleanups as f64,
        }
    }
}

/// A span a rollover or `stopUsingTranscript` closed: its artifact name and items.
#[napi(object)]
pub struct ClosedSpan {
    /// `transcript.<vatID>.<startPos>.<endPos>`.
    pub name: String,
    pub items: Vec<String>,
}

/// A rollover: its new incarnation back to JS, the closed span kept for `takeClosedSpan`.
fn rollover(
    shared: &crate::handle::Shared,
    call: impl FnOnce(&mut kernel_store::KernelStore) -> kernel_store::Result<kernel_store::Rollover>,
) -> Result<f64, JsErr> {
    with_open(shared, |open| {
        let rollover = call(&mut open.store)?;
        open.closed_span = rollover.closed;
        Ok(rollover.incarnation as f64)
    })
}

/// An in-progress `readSpan`: the span's bounds were fixed when it began.
#[napi]
pub struct SpanReader {
    shared: Shared,
    cursor: kernel_store::SpanCursor,
}

#[napi]
impl SpanReader {
    /// Not for use: always throws `ERR_ILLEGAL_CONSTRUCTOR`. A reader comes from `readSpanBegin`.
    #[napi(constructor)]
    pub fn new(env: Env) -> Result<Self, JsErr> {
        Err(illegal_constructor(
            &env,
            "SpanReader cannot be constructed: use KernelStore.readSpanBegin(vatID, startPos)",
        ))
    }

    /// Up to `limit` more items, in position order; `[]` once the span is exhausted. The call
    /// after the last item checks the count (`read N transcript entries (expected M)`).
    #[napi(catch_unwind)]
    pub fn next_page(
        &mut self,
        #[napi(ts_arg_type = "number")] limit: PageLimit,
    ) -> Result<Vec<String>, JsErr> {
        let cursor = &mut self.cursor;
        with_store(&self.shared, |s| s.read_span_page(cursor, limit.0))
    }
}

#[napi]
impl KernelStore {
    /// Starts vat `vatID`'s transcript (span 0, incarnation 0).
    #[napi(catch_unwind)]
    pub fn init_transcript(
        &self,
        #[napi(ts_arg_type = "string")] vat_id: VatId,
    ) -> Result<(), JsErr> {
        with_store(&self.shared, |s| s.init_transcript(&vat_id.0))
    }

    /// The current span's bounds, hash and incarnation.
    #[napi(catch_unwind)]
    pub fn get_current_span_bounds(
        &self,
        #[napi(ts_arg_type = "string")] vat_id: VatId,
    ) -> Result<SpanBounds, JsErr> {
        with_store(&self.shared, |s| s.get_current_span_bounds(&vat_id.0)).map(|b| SpanBounds {
            start_pos: b.start_pos as f64,
            end_pos: b.end_pos as f64,
            hash: b.hash,
            incarnation: b.incarnation as f64,
        })
    }

    /// Appends `item` to the vat's current span.
    #[napi(catch_unwind)]
    pub fn add_item(
        &self,
        #[napi(ts_arg_type = "string")] vat_id: VatId,
        #[napi(ts_arg_type = "string")] item: TranscriptItem,
    ) -> Result<(), JsErr> {
        with_store(&self.shared, |s| s.add_item(&vat_id.0, &item.0))
    }

    /// Begins reading a span: the current one, or the one starting at `startPos`. Errors
    /// about the arguments or a missing span are thrown here, as swing-store throws them.
    #[napi(catch_unwind, ts_args_type = "vatId: string, startPos?: number")]
    pub fn read_span_begin(
        &self,
        env: Env,
        vat_id: VatId,
        start_pos: SpanStartArg,
    ) -> Result<SpanReader, JsErr> {
        let cursor = with_store_typed(&env, &self.shared, |s| {
            s.begin_read_span(&vat_id.0, start_pos.start(&vat_id.0)?)
        })?;
        Ok(SpanReader {
            shared: self.shared.clone(),
            cursor,
        })
    }

    /// Closes the current span and opens the next one in the same incarnation.
    #[napi(catch_unwind)]
    pub fn rollover_span(
        &self,
        #[napi(ts_arg_type = "string")] vat_id: VatId,
    ) -> Result<f64, JsErr> {
        rollover(&self.shared, |s| s.rollover_span(&vat_id.0))
    }

    /// Closes the current span and opens the first span of the next incarnation.
    #[napi(catch_unwind)]
    pub fn rollover_incarnation(
        &self,
        #[napi(ts_arg_type = "string")] vat_id: VatId,
    ) -> Result<f64, JsErr> {
        rollover(&self.shared, |s| s.rollover_incarnation(&vat_id.0))
    }

    /// Closes the vat's current span, if any (idempotent).
    #[napi(catch_unwind)]
    pub fn stop_using_transcript(
        &self,
        #[napi(ts_arg_type = "string")] vat_id: VatId,
    ) -> Result<(), JsErr> {
        with_open(&self.shared, |open| {
            open.closed_span = open.store.stop_using_transcript(&vat_id.0)?;
            Ok(())
        })
    }

    /// The span the last rollover or `stopUsingTranscript` closed, with its items, once (for
    /// swing-store's `archiveTranscript` callback); `undefined` unless the store was opened
    /// with `archiveTranscripts`.
    #[napi(catch_unwind, ts_return_type = "ClosedSpan | undefined")]
    pub fn take_closed_span(&self) -> Result<Either<ClosedSpan, Undefined>, JsErr> {
        with_open(&self.shared, |open| Ok(open.closed_span.take())).map(|span| match span {
            Some(span) => Either::A(ClosedSpan {
                name: span.name,
                items: span.items,
            }),
            None => Either::B(()),
        })
    }

    /// Deletes the vat's spans and items, newest first, at most `budget` spans (all when
    /// omitted or `Infinity`).
    #[napi(
        catch_unwind,
        ts_args_type = "vatId: string, budget?: number | undefined | null"
    )]
    pub fn delete_vat_transcripts(
        &self,
        vat_id: VatId,
        budget_arg: BudgetArg,
    ) -> Result<Deletion, JsErr> {
        with_store(&self.shared, |s| {
            s.delete_vat_transcripts(&vat_id.0, budget_arg.0?)
        })
        .map(Deletion::from)
    }
}
