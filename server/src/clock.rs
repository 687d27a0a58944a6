//! The hub's clock: the time at which an access token counts as expiring, and a refresh, a poll or a delivery
//! as due. It reads the system's time; the test kit moves it ahead to make later work due at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// The system's time, plus however far it has been moved ahead. Clones share one clock.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    ahead_millis: Arc<AtomicI64>,
}

impl Clock {
    /// Now, as Unix milliseconds, the way times are stored.
    pub fn now_millis(&self) -> i64 {
        crate::store::now_millis().saturating_add(self.ahead_millis.load(Ordering::Relaxed))
    }

    /// Moves the clock ahead by `by`: work scheduled up to that much later is due at once. Time never goes back.
    pub fn advance(&self, by: Duration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX / 4);
        self.ahead_millis.fetch_add(millis, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_moved_ahead_reads_later_and_its_clones_follow() {
        let clock = Clock::default();
        let shared = clock.clone();
        let before = clock.now_millis();
        clock.advance(Duration::from_secs(3600));
        let after = shared.now_millis();
        assert!(after - before >= 3_600_000, "moved {} ms", after - before);
        assert!(after - crate::store::now_millis() <= 3_600_000 + 1_000);
    }
}
