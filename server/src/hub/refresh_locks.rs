//! The in-process half of "one refresh at a time": one async lock per instance (the database lease is the other).

use app::instances::InstanceId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The in-process half of "one refresh at a time": one async lock per instance.
#[derive(Default)]
pub struct RefreshLocks {
    locks: Mutex<HashMap<InstanceId, Arc<tokio::sync::Mutex<()>>>>,
}

impl RefreshLocks {
    pub(super) fn of(&self, id: InstanceId) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        locks.entry(id).or_default().clone()
    }
}
