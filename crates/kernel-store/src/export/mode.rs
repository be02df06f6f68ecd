//! swing-store's artifact modes: which artifacts an export offers (and an import requires)
//! beyond the export data, which always describes everything.

use crate::error::{Error, Result};
use crate::json::quote;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ArtifactMode {
    /// What a node needs to run: current transcript spans, in-use snapshots, all bundles.
    #[default]
    Operational,
    /// Also every span of each vat's current incarnation, so its workers can be replayed.
    Replay,
    /// Every span of every live vat: its whole history.
    Archival,
    /// Whatever the store has, complete or not, historical snapshots included.
    Debug,
}

impl ArtifactMode {
    pub fn parse(mode: &str) -> Result<ArtifactMode> {
        match mode {
            "operational" => Ok(ArtifactMode::Operational),
            "replay" => Ok(ArtifactMode::Replay),
            "archival" => Ok(ArtifactMode::Archival),
            "debug" => Ok(ArtifactMode::Debug),
            other => Err(Error::InvalidArgValue {
                message: format!("invalid artifactMode {}", quote(other)),
            }),
        }
    }

    /// The completeness an import or export checks: `debug` promises nothing, so an import
    /// in that mode still insists on what a node needs to run.
    pub fn check(self) -> ArtifactMode {
        match self {
            ArtifactMode::Debug => ArtifactMode::Operational,
            mode => mode,
        }
    }
}
