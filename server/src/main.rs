//! The `tether` binary: parses the command line, loads the configuration and runs the chosen command.

use clap::Parser;
use tether::cli::{Cli, Command, run_admin, run_keys};
use tether::config::Config;
use tether::telemetry::init_logging;
use tether::{Tether, bootstrap};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref())?;
    init_logging(&config.server.log)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let tether = Tether::open(config).await?;
            tether.hub.store().close().await;
            println!("Migrations are applied.");
            Ok(())
        }
        Command::Config => {
            print!("{}", config.to_toml());
            Ok(())
        }
        Command::Keys(command) => run_keys(command, config).await,
        Command::Admin(command) => run_admin(command, config).await,
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .map_err(|error| anyhow::anyhow!("cannot listen on {}: {error}", config.server.listen))?;
    let address = listener.local_addr()?;
    let console_url = format!("http://{address}");
    let shutdown = shutdown_signal()?;
    let tether = Tether::open(config).await?;
    if let Some(made) = bootstrap::first_start(&tether.hub, &tether.config).await? {
        // Behind a load balancer the console is at the public URL, not at this node's own address.
        let public = tether.config.server.public_url.as_deref().map(|url| url.trim_end_matches('/'));
        print!("{}", bootstrap::welcome_message(&made, public.unwrap_or(&console_url)));
    }
    println!("Tether is listening on {console_url}");
    tracing::info!(%address, "listening");
    tether.serve(listener, shutdown).await?;
    tether.hub.store().close().await;
    Ok(())
}

/// Registers the Ctrl-C and SIGTERM handlers now, and returns a future that resolves when either arrives.
///
/// Registering before the "listening" line matters: a SIGTERM sent right after it must stop Tether gracefully.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!("shutting down");
    })
}
