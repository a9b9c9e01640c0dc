//! Why a run of the projector ended.

use tidings_ports::{LogError, StoreError};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectorError {
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ProjectorError {
    pub(crate) fn is_retriable(&self) -> bool {
        match self {
            ProjectorError::Log(error) => error.is_retriable(),
            ProjectorError::Store(error) => error.is_retriable(),
        }
    }
}
