//! Tether's integration tests, built into one binary: the real server on loopback, real SQLite and PostgreSQL.
//!
//! PostgreSQL tests need `TETHER_TEST_POSTGRES_URL`, a server where they may create databases; `make test` starts one.

mod accounts;
mod audit;
mod aws_signing;
mod call_logs;
mod chaos;
mod cli;
mod client_credentials;
mod cloud_elements_client;
mod connect;
mod console;
mod console_files;
mod console_flow;
mod credential_placements;
mod doors;
mod duo_signing;
mod element_instances;
mod elements;
mod events;
mod fake_hub;
mod hosted_connect;
mod instance_management;
mod instance_table;
mod instances;
mod lifecycle_webhooks;
mod limits;
mod logs;
mod oauth;
mod oauth1;
mod oauth_defaults;
mod openapi;
mod outbound;
mod processes;
mod provider_emulator;
mod proxy;
mod sandbox;
mod secrets_at_rest;
mod seeds;
mod storage;
mod token_client;
mod token_lifecycle;
mod two_factor;
mod utils;
mod verification;
