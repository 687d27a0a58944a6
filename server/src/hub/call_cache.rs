//! What a proxied call needs from the database, kept for a short while on each node: the API caller a pair of
//! secrets names, and the provider call an `Element` token resolves to (base URL and decrypted credentials).
//!
//! Without it every proxied call costs four queries and a decryption. This node forgets an entry as soon as it
//! changes what the entry was made from; a change made on another node shows here within the time to live.
//! An OAuth call is never served from here once its access token is within the refresh margin: those calls take
//! the full path, which refreshes.
//!
//! Nothing changes a user, an account or an API secret yet, so callers are only ever forgotten by age. The change
//! that adds such a write must also drop the cached callers, as the instance and element writes do their calls.
//!
//! A lookup that missed may finish after a write it raced with. A generation number, moved on by every change
//! under the same lock that guards insertion, keeps such a lookup's stale answer out.

use app::hub::{Caller, ProviderCall};
use app::types::OrganizationId;
use moka::sync::Cache;
use std::sync::Mutex;
use std::time::Duration;

/// Entries per map; a node holding more active instances than this refetches the coldest.
const CAPACITY: u64 = 100_000;

/// A resolved provider call and what decides whether it still answers a request.
#[derive(Clone)]
pub struct CachedCall {
    pub organization_id: OrganizationId,
    pub hub: String,
    /// When the access token enters the refresh margin (Unix milliseconds); from then on the entry is not used.
    pub usable_until: Option<i64>,
    pub call: ProviderCall,
}

/// The generation a lookup started at: an insertion made with it is dropped if anything changed since.
#[derive(Clone, Copy)]
pub struct Generation(u64);

pub struct CallCache {
    /// By the digests of the user and the organization secret.
    callers: Option<Cache<(String, String), Caller>>,
    /// By the digest of the `Element` token.
    calls: Option<Cache<String, CachedCall>>,
    generation: Mutex<u64>,
}

impl CallCache {
    /// A cache whose entries live `time_to_live`; zero turns it off.
    pub fn new(time_to_live: Duration) -> CallCache {
        fn build<K, V>(time_to_live: Duration) -> Option<Cache<K, V>>
        where
            K: std::hash::Hash + Eq + Send + Sync + 'static,
            V: Clone + Send + Sync + 'static,
        {
            let on = !time_to_live.is_zero();
            on.then(|| Cache::builder().max_capacity(CAPACITY).time_to_live(time_to_live).build())
        }
        CallCache { callers: build(time_to_live), calls: build(time_to_live), generation: Mutex::new(0) }
    }

    fn generation_lock(&self) -> std::sync::MutexGuard<'_, u64> {
        self.generation.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Call before reading what an entry will be made from.
    pub fn generation(&self) -> Generation {
        Generation(*self.generation_lock())
    }

    pub fn caller(&self, user_digest: &str, organization_digest: &str) -> Option<Caller> {
        self.callers.as_ref()?.get(&(user_digest.to_owned(), organization_digest.to_owned()))
    }

    pub fn keep_caller(&self, since: Generation, user_digest: String, organization_digest: String, caller: Caller) {
        let generation = self.generation_lock();
        if let Some(callers) = &self.callers
            && *generation == since.0
        {
            callers.insert((user_digest, organization_digest), caller);
        }
    }

    /// The call for `token_digest`, if it is known, belongs to `organization` and `hub`, and its access token is
    /// not yet within the refresh margin at `now` (Unix milliseconds).
    pub fn call(&self, token_digest: &str, organization: OrganizationId, hub: &str, now: i64) -> Option<ProviderCall> {
        let cached = self.calls.as_ref()?.get(token_digest)?;
        let usable = cached.organization_id == organization
            && cached.hub == hub
            && cached.usable_until.is_none_or(|until| now < until);
        usable.then_some(cached.call)
    }

    pub fn keep_call(&self, since: Generation, token_digest: String, call: CachedCall) {
        let generation = self.generation_lock();
        if let Some(calls) = &self.calls
            && *generation == since.0
        {
            calls.insert(token_digest, call);
        }
    }

    /// An instance changed or went away.
    pub fn forget_call(&self, token_digest: &str) {
        let mut generation = self.generation_lock();
        *generation += 1;
        if let Some(calls) = &self.calls {
            calls.invalidate(token_digest);
        }
    }

    /// An API secret changed: forget every caller found by secrets, so a replaced one stops working here at once.
    pub fn forget_all_callers(&self) {
        let mut generation = self.generation_lock();
        *generation += 1;
        if let Some(callers) = &self.callers {
            callers.invalidate_all();
        }
    }

    /// An element changed or went away: any call may have been made from it.
    pub fn forget_all_calls(&self) {
        let mut generation = self.generation_lock();
        *generation += 1;
        if let Some(calls) = &self.calls {
            calls.invalidate_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::instances::InstanceId;
    use app::types::{AccountId, Role, UserId};

    pub(super) fn call(hub: &str, usable_until: Option<i64>) -> CachedCall {
        CachedCall {
            organization_id: OrganizationId(1),
            hub: hub.into(),
            usable_until,
            call: ProviderCall {
                instance_id: InstanceId(7),
                base_url: "https://api.example.com".into(),
                path_segment: None,
                headers: Vec::new(),
                query: Vec::new(),
                access_token_digest: None,
                recording: app::call_logs::CallRecording::Summary,
                filter_nulls: true,
                body: Vec::new(),
                signing: None,
                rate: None,
            },
        }
    }

    #[test]
    fn a_call_answers_only_its_organization_and_hub_and_not_once_its_token_is_due_for_refresh() {
        let cache = CallCache::new(Duration::from_secs(60));
        cache.keep_call(cache.generation(), "t".into(), call("crm", Some(1_000)));
        assert!(cache.call("t", OrganizationId(1), "crm", 999).is_some());
        assert!(cache.call("t", OrganizationId(1), "crm", 1_000).is_none(), "due for refresh");
        assert!(cache.call("t", OrganizationId(2), "crm", 0).is_none(), "another organization");
        assert!(cache.call("t", OrganizationId(1), "marketing", 0).is_none(), "another hub");
        assert!(cache.call("u", OrganizationId(1), "crm", 0).is_none(), "another token");
    }

    #[test]
    fn a_lookup_that_raced_with_a_change_is_not_kept() {
        let cache = CallCache::new(Duration::from_secs(60));
        let before = cache.generation();
        cache.forget_call("t");
        cache.keep_call(before, "t".into(), call("crm", None));
        assert!(cache.call("t", OrganizationId(1), "crm", 0).is_none());

        let caller = Caller {
            organization_id: OrganizationId(1),
            account_id: AccountId(1),
            user_id: UserId(1),
            role: Role::Admin,
        };
        let before = cache.generation();
        cache.forget_all_calls();
        cache.keep_caller(before, "u".into(), "o".into(), caller.clone());
        assert!(cache.caller("u", "o").is_none());
        cache.keep_caller(cache.generation(), "u".into(), "o".into(), caller.clone());
        assert_eq!(cache.caller("u", "o"), Some(caller));
    }

    #[test]
    fn forgetting_drops_the_entry_and_a_zero_time_to_live_keeps_nothing() {
        let cache = CallCache::new(Duration::from_secs(60));
        cache.keep_call(cache.generation(), "t".into(), call("crm", None));
        cache.forget_call("t");
        assert!(cache.call("t", OrganizationId(1), "crm", 0).is_none());
        cache.keep_call(cache.generation(), "t".into(), call("crm", None));
        cache.forget_all_calls();
        assert!(cache.call("t", OrganizationId(1), "crm", 0).is_none());

        let off = CallCache::new(Duration::ZERO);
        off.keep_call(off.generation(), "t".into(), call("crm", None));
        assert!(off.call("t", OrganizationId(1), "crm", 0).is_none());
    }
}
