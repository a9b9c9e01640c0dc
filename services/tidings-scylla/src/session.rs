//! Sessions to the cluster, configured from [`ScyllaSettings`].

use std::sync::Arc;

use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::policies::timestamp_generator::MonotonicTimestampGenerator;
use tidings_ports::StoreError;

use crate::error;
use crate::settings::ScyllaSettings;

/// A session to the cluster of `settings`, not bound to a keyspace: what [`crate::migrate`]
/// takes. Metadata is fetched for `settings.keyspace` only.
pub async fn open_session(settings: &ScyllaSettings) -> Result<Session, StoreError> {
    session_builder(settings).build().await.map_err(|e| error::new_session(&settings.nodes, e))
}

/// What every session of the store shares: nodes, timeouts, consistency and the clock.
pub(crate) fn session_builder(settings: &ScyllaSettings) -> SessionBuilder {
    let profile = ExecutionProfile::builder()
        .consistency(settings.consistency.to_driver())
        .request_timeout(Some(settings.request_timeout()))
        .build();
    SessionBuilder::new()
        .known_nodes(&settings.nodes)
        .connection_timeout(settings.connect_timeout())
        .default_execution_profile_handle(profile.into_handle())
        // One monotonic clock for every write of this process: the projector writes a
        // mailbox from one process, so an insert and a later delete of its row are ordered.
        .timestamp_generator(Arc::new(MonotonicTimestampGenerator::new()))
        .keyspaces_to_fetch([settings.keyspace.clone()])
}
