//! What talks to providers and to the team's callbacks: the one guarded outbound client, the token endpoints'
//! client, calls to a provider's API, and webhook signatures both ways.

pub mod outbound;
pub mod provider_client;
pub mod request_signing;
pub mod token_client;
pub mod webhooks;
