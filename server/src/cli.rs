//! The `tether` command line: `serve` (the default), `migrate`, `config`, `keys rotate` and `admin` tasks.

use crate::Tether;
use crate::bootstrap;
use crate::config::Config;
use crate::hub::HubService;
use crate::store::audit::Actor;
use app::hub::Accounts;
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "tether", version, about = "A self-hosted hub for connecting apps to third-party APIs")]
pub struct Cli {
    /// The config file (default: ./tether.toml when present).
    #[arg(long, global = true, env = "TETHER_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the REST API and the console (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the configuration in effect (defaults, file and environment together) as TOML, secrets masked.
    Config,
    /// Manage the encryption keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Administer organizations and users.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a data key and re-encrypt every stored secret with it.
    Rotate,
    /// Show the data key versions and how many secrets each protects.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an organization with a default account and an admin user; prints their secrets once.
    CreateOrg {
        #[arg(long)]
        name: String,
        #[arg(long)]
        admin_email: String,
    },
    /// Create a user in an account; prints the user secret and password once.
    CreateUser {
        /// The email of an admin of the organization the account belongs to.
        #[arg(long)]
        as_admin: String,
        #[arg(long)]
        account: i64,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "")]
        first_name: String,
        #[arg(long, default_value = "")]
        last_name: String,
        #[arg(long)]
        admin: bool,
    },
    /// Set a new random console password for a user and end their sessions; prints it once.
    ResetPassword {
        #[arg(long)]
        email: String,
    },
}

pub async fn run_keys(command: KeysCommand, config: Config) -> anyhow::Result<()> {
    let tether = Tether::open(config).await?;
    let vault = tether.hub.vault();
    match command {
        KeysCommand::Rotate => {
            let report = vault.rotate(&Actor::Cli).await?;
            println!(
                "Data key version {} is now current; re-encrypted {} secret(s).",
                report.new_version, report.reencrypted
            );
        }
        KeysCommand::Status => {
            let current = vault.keyring().current_version().unwrap_or(0);
            println!("Current data key version: {current}");
            for (version, entries) in tether.hub.store().vault_entries_per_key_version().await? {
                println!("  version {version}: {entries} secret(s)");
            }
        }
    }
    tether.hub.store().close().await;
    Ok(())
}

pub async fn run_admin(command: AdminCommand, config: Config) -> anyhow::Result<()> {
    let tether = Tether::open(config).await?;
    let hub: &HubService = &tether.hub;
    let outcome = admin(hub, command).await;
    hub.store().close().await;
    outcome
}

async fn admin(hub: &HubService, command: AdminCommand) -> anyhow::Result<()> {
    use app::hub::Caller;
    use app::types::{AccountId, NewUser, Role};
    match command {
        AdminCommand::CreateOrg { name, admin_email } => {
            let made = hub.create_organization(&name, &admin_email, &Actor::Cli).await?;
            print!("{}", bootstrap::welcome_message(&made, "the console"));
        }
        AdminCommand::CreateUser { as_admin, account, email, first_name, last_name, admin } => {
            let acting = hub
                .store()
                .user_by_email(&as_admin.trim().to_lowercase())
                .await?
                .filter(|user| user.role == Role::Admin)
                .ok_or_else(|| anyhow::anyhow!("no admin user with email {as_admin}"))?;
            let organization = hub
                .store()
                .organization_of_user(acting.id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("admin {as_admin} has no organization"))?;
            let caller = Caller {
                organization_id: organization,
                account_id: acting.account_id,
                user_id: acting.id,
                role: Role::Admin,
            };
            let new_user = NewUser {
                email_address: email,
                first_name,
                last_name,
                phone: None,
                role: if admin { Role::Admin } else { Role::Member },
                password: None,
            };
            let created = hub.create_user(&caller, AccountId(account), new_user).await?;
            println!("Created user {} (id {}).", created.user.email_address, created.user.id);
            println!("  user secret: {}", created.secret.as_str());
            if let Some(password) = &created.password {
                println!("  password:    {}", password.as_str());
            }
        }
        AdminCommand::ResetPassword { email } => {
            let password = hub.reset_password(&email, &Actor::Cli).await?;
            println!("New password for {email}: {}", password.expose_secret());
        }
    }
    Ok(())
}
