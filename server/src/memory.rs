//! Keeps a node's memory bounded and gives it back to the system after a load.
//!
//! - The Prometheus recorder keeps every duration recorded since it last folded them into their summaries, which
//!   it does only when asked: a node nobody scrapes would hold eight bytes per request, forever. It is asked here.
//! - glibc's allocator keeps what was freed in its per-thread arenas for reuse, so resident memory would stay near
//!   its peak long after the connections and buffers of a burst of calls are gone; it is asked now and then to
//!   trim, which returns those pages. Elsewhere the trim does nothing.

use std::time::Duration;

/// How often recorded durations are folded and freed memory handed back: often enough that a node is back near its
/// idle size within a minute of a load, rarely enough to cost nothing measurable (a trim with little to return
/// takes microseconds).
const TRIM_EVERY: Duration = Duration::from_secs(10);

/// Starts the periodic folding and trim on the current runtime; abort the handle to stop it.
pub fn return_freed_memory_periodically() -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {
        let mut interval = tokio::time::interval(TRIM_EVERY);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            // Off the runtime's workers: after a load, folding the durations and trimming take long enough to
            // hold up the calls a worker would otherwise be serving.
            let work = tokio::task::spawn_blocking(|| {
                crate::telemetry::metrics().run_upkeep();
                return_freed_memory();
            });
            if work.await.is_err() {
                tracing::warn!("folding metrics or trimming memory failed");
            }
        }
    })
}

/// Hands the allocator's free pages back to the system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_freed_memory() {
    // SAFETY: malloc_trim only releases memory no allocation uses; it is safe to call from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_freed_memory() {}
