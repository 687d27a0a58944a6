//! Gives memory back to the system after a load. glibc's allocator keeps what was freed in its per-thread arenas
//! for reuse, so a node's resident memory stays at its peak long after the connections and buffers of a burst of
//! calls are gone; asking it now and then to trim returns those pages. Elsewhere this does nothing.

use std::time::Duration;

/// How often freed memory is handed back: often enough that a node is back near its idle size within a minute of
/// a load, rarely enough to cost nothing measurable (a trim with little to return takes microseconds).
const TRIM_EVERY: Duration = Duration::from_secs(10);

/// Starts the periodic trim on the current runtime; abort the handle to stop it.
pub fn return_freed_memory_periodically() -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {
        let mut interval = tokio::time::interval(TRIM_EVERY);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            return_freed_memory();
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
