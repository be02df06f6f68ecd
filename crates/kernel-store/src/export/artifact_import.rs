//! One artifact arriving for an import (or for a tool's `populateSnapshot`-style call): the
//! store its type belongs to decides whether the artifact mode wants it, takes its bytes as
//! they stream in, and checks them against the artifact's export-data record at the end.

use super::metadata::tag;
use super::ArtifactMode;
use crate::bundle::artifacts::BundleImport;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::json::quote;
use crate::snapshot::artifacts::{self as snapshots, SnapshotImport, SnapshotPopulate};
pub use crate::transcript::artifacts::Landing;
use crate::transcript::artifacts::{self as transcripts, SpanImport};

pub enum ArtifactImport {
    Bundle(BundleImport),
    /// Boxed: a snapshot's streaming gzip state dwarfs the other variants.
    Snapshot(Box<SnapshotImport>),
    Transcript(SpanImport),
}

impl ArtifactImport {
    /// Starts importing `name`, or `None` when `mode` leaves it out (it need not be fetched).
    /// `landing` says whether a span's items may be stored before the span is checked whole.
    pub fn begin(
        db: &mut Db,
        name: &str,
        mode: ArtifactMode,
        landing: Landing,
    ) -> Result<Option<ArtifactImport>> {
        Ok(match tag(name) {
            "bundle" => Some(ArtifactImport::Bundle(BundleImport::begin(name)?)),
            "snapshot" => snapshots::begin_import(db, name, mode)?
                .map(|s| ArtifactImport::Snapshot(Box::new(s))),
            "transcript" => {
                transcripts::begin_import(db, name, mode, landing)?.map(ArtifactImport::Transcript)
            }
            other => {
                return Err(Error::InvalidArtifactName {
                    message: format!("unknown artifact type {} on import", quote(other)),
                })
            }
        })
    }

    pub fn name(&self) -> &str {
        match self {
            ArtifactImport::Bundle(bundle) => bundle.name(),
            ArtifactImport::Snapshot(snapshot) => snapshot.name(),
            ArtifactImport::Transcript(span) => span.name(),
        }
    }

    pub fn write(&mut self, db: &mut Db, chunk: &[u8]) -> Result<()> {
        match self {
            ArtifactImport::Bundle(bundle) => {
                bundle.write(chunk);
                Ok(())
            }
            ArtifactImport::Snapshot(snapshot) => snapshot.write(chunk),
            ArtifactImport::Transcript(span) => span.write(db, chunk),
        }
    }

    /// The artifact will not be finished (its source failed): what it stored is removed.
    pub fn abandon(self, db: &mut Db) -> Result<()> {
        match self {
            ArtifactImport::Transcript(mut span) => span.remove_stored(db),
            // Bundles and snapshots are stored only when they finish.
            ArtifactImport::Bundle(_) | ArtifactImport::Snapshot(_) => Ok(()),
        }
    }

    /// The artifact has ended: checked against its record, and kept.
    pub fn finish(self, db: &mut Db) -> Result<()> {
        match self.finish_deferred(db)? {
            Some(snapshot) => snapshot.complete(db),
            None => Ok(()),
        }
    }

    /// [`ArtifactImport::finish`], except that a snapshot, once checked, is handed back with
    /// its compression still running, for the caller to complete when it likes.
    pub fn finish_deferred(self, db: &mut Db) -> Result<Option<SnapshotPopulate>> {
        match self {
            ArtifactImport::Bundle(bundle) => bundle.finish(db).map(|()| None),
            ArtifactImport::Snapshot(snapshot) => snapshot.finish().map(Some),
            ArtifactImport::Transcript(span) => span.finish(db).map(|()| None),
        }
    }
}
