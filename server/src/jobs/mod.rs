//! The background workers a node runs when `workers` is on: the token refresher, the nightly sweep, the event
//! poller, the event deliverer and the mailer. Their work is claimed in the database, so any number of nodes share it and each item is done once;
//! one cancellation token stops them all.

pub mod deliver;
pub mod mail;
pub mod poll;
pub mod refresh;
mod schedule;

use crate::config::Config;
use crate::hub::HubService;
use crate::messages::notify::Mailer;
use schedule::{every, unbatched};
use std::sync::Arc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The running workers of this node.
pub struct Workers {
    cancel: CancellationToken,
    tasks: JoinSet<()>,
}

impl Workers {
    /// Starts every worker. Without `smtp_url` there is no mailer, and notices stay in the console's outbox.
    pub fn start(hub: Arc<HubService>, config: &Config) -> anyhow::Result<Workers> {
        let cancel = CancellationToken::new();
        let tick = config.workers.tick;
        let plan = refresh::RefreshPlan::from_config(config);
        let mut tasks = JoinSet::new();
        tasks.spawn(every(tick, cancel.clone(), None, {
            let (hub, plan) = (hub.clone(), plan.clone());
            move || refresh::refresh_due(hub.clone(), plan.clone())
        }));
        tasks.spawn(every(tick, cancel.clone(), None, {
            let hub = hub.clone();
            move || unbatched(refresh::sweep_when_due(hub.clone(), plan.clone()))
        }));
        tasks.spawn(every(tick, cancel.clone(), None, {
            let (hub, plan) = (hub.clone(), poll::PollPlan::from_config(config));
            move || unbatched(poll::poll_due(hub.clone(), plan.clone()))
        }));
        tasks.spawn(every(tick, cancel.clone(), Some(hub.deliveries_queued()), {
            let (hub, plan) = (hub.clone(), deliver::DeliveryPlan::from_config(config, &hub));
            move || deliver::deliver_due(hub.clone(), plan.clone())
        }));
        match &config.mail.smtp_url {
            Some(url) => {
                let mailer = Mailer::new(url, &config.mail.from)?;
                let store = hub.store().clone();
                tasks.spawn(every(tick, cancel.clone(), None, move || {
                    unbatched(mail::send_due(store.clone(), mailer.clone()))
                }));
            }
            None => tracing::info!("no smtp_url is set: notices stay in the console's outbox"),
        }
        Ok(Workers { cancel, tasks })
    }

    /// Stops the workers and waits for the passes under way to finish.
    pub async fn stop(mut self) {
        self.cancel.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}
