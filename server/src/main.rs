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
    init_logging(&config.log)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let tether = Tether::open(config).await?;
            tether.hub.store().close().await;
            println!("Migrations are applied.");
            Ok(())
        }
        Command::Keys(command) => run_keys(command, config).await,
        Command::Admin(command) => run_admin(command, config).await,
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|error| anyhow::anyhow!("cannot listen on {}: {error}", config.listen))?;
    let address = listener.local_addr()?;
    let console_url = format!("http://{address}");
    let tether = Tether::open(config).await?;
    if let Some(made) = bootstrap::first_start(&tether.hub, &tether.config).await? {
        print!("{}", bootstrap::welcome_message(&made, &console_url));
    }
    println!("Tether is listening on {console_url}");
    tracing::info!(%address, "listening");
    tether.serve(listener, shutdown_signal()).await?;
    tether.hub.store().close().await;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM, so in-flight requests can finish.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
