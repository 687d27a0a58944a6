//! The operator CLI, run as the real binary: migrate, first start, admin tasks, key status and bad configuration.

use crate::processes::RunningBinary;
use app::hub::Identity;
use secrecy::SecretString;
use std::path::Path;
use std::process::{Command, Output};
use tether::Tether;
use tether::config::Config;

fn tether(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("TETHER_DATA_DIR", data_dir)
        .env("TETHER_LOG", "warn")
        .output()
        .unwrap()
}

fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn printed(stdout: &str, label: &str) -> String {
    stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix(&format!("{label}:")).map(|value| value.trim().to_owned()))
        .unwrap_or_else(|| panic!("no {label:?} in {stdout}"))
}

#[test]
fn secrets_print_on_first_start_only() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let first = RunningBinary::start(&data_dir, &[]);
    let user_secret = first.printed("user secret");
    let organization_secret = first.printed("organization secret");
    let (stdout, _) = first.stop();
    assert!(stdout.contains(&format!("Authorization: User {user_secret}, Organization {organization_secret}")));
    assert!(stdout.contains("email:    admin@tether.local"));

    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(data_dir.join("master.key")).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);

    let again = RunningBinary::start(&data_dir, &[]);
    let (stdout, _) = again.stop();
    assert!(!stdout.contains("First start") && !stdout.contains(&user_secret), "{stdout}");
}

#[test]
fn master_key_from_the_environment_is_used_instead_of_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let key = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
    let server = RunningBinary::start(&data_dir, &[("TETHER_MASTER_KEY", key)]);
    server.stop();
    assert!(!data_dir.join("master.key").exists());
    let without = tether(&data_dir, &["keys", "status"]);
    assert!(!without.status.success(), "a new file key cannot open data sealed under the env key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_create_and_reset() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    assert!(stdout_of(&tether(&data_dir, &["migrate"])).contains("Migrations are applied."));

    let made =
        stdout_of(&tether(&data_dir, &["admin", "create-org", "--name", "Beta", "--admin-email", "boss@beta.example"]));
    let organization_secret = printed(&made, "organization secret");
    let user_secret = printed(&made, "user secret");
    let first_password = printed(&made, "password");

    let reset = stdout_of(&tether(&data_dir, &["admin", "reset-password", "--email", "boss@beta.example"]));
    let new_password = reset.trim().rsplit(' ').next().unwrap().to_owned();

    let created = stdout_of(&tether(
        &data_dir,
        &["admin", "create-user", "--as-admin", "boss@beta.example", "--account", "1", "--email", "dev@beta.example"],
    ));
    let dev_secret = printed(&created, "user secret");

    let unknown = tether(&data_dir, &["admin", "reset-password", "--email", "ghost@beta.example"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("No user with email ghost@beta.example"));

    let status = stdout_of(&tether(&data_dir, &["keys", "status"]));
    assert!(status.contains("Current data key version: 1"), "{status}");

    let opened = Tether::open(Config::for_tests(&data_dir, None)).await.unwrap();
    use app::hub::ApiCredentials;
    let secret = |text: &str| SecretString::from(text.to_owned());
    let boss = opened
        .hub
        .authenticate(&ApiCredentials {
            user: secret(&user_secret),
            organization: secret(&organization_secret),
            element: None,
        })
        .await
        .expect("printed secrets authenticate");
    let dev = opened
        .hub
        .authenticate(&ApiCredentials {
            user: secret(&dev_secret),
            organization: secret(&organization_secret),
            element: None,
        })
        .await
        .expect("the new user's secret authenticates");
    assert_eq!(boss.organization_id, dev.organization_id);
    assert!(opened.hub.sign_in("boss@beta.example", &secret(&new_password)).await.is_ok());
    assert!(
        opened.hub.sign_in("boss@beta.example", &secret(&first_password)).await.is_err(),
        "the old password is gone"
    );
}

#[test]
fn bad_configuration_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tether"))
        .arg("migrate")
        .env("TETHER_DATA_DIR", dir.path())
        .env("TETHER_LISTEN", "nowhere")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).to_lowercase().contains("listen"));

    std::fs::write(dir.path().join("bad.toml"), "max_body_bytes = 0\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(["--config", dir.path().join("bad.toml").to_str().unwrap(), "migrate"])
        .env("TETHER_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stderr).contains("max_body_bytes"));
}

#[test]
fn config_prints_the_configuration_in_effect_with_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tether.toml"), "[refresh]\nmargin = \"7m\"\n[poll]\nconcurrency = 3\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(["--config", dir.path().join("tether.toml").to_str().unwrap(), "config"])
        .env_remove("DATABASE_URL")
        .env("TETHER_DATA_DIR", dir.path())
        .env("TETHER_SMTP_URL", "smtp://user:hunter2@mail.example.com:25")
        .env("TETHER_DELIVERY__CONCURRENCY", "5")
        .env("TETHER_CALL_CACHE_SECONDS", "0.5")
        .output()
        .unwrap();
    let printed: toml::Table = stdout_of(&output).parse().expect("the output is TOML");
    assert_eq!(printed["refresh"]["margin"].as_str(), Some("7m"), "from the file");
    assert_eq!(printed["poll"]["concurrency"].as_integer(), Some(3), "from the file");
    assert_eq!(printed["delivery"]["concurrency"].as_integer(), Some(5), "a sectioned variable");
    assert_eq!(printed["proxy"]["call_cache"].as_str(), Some("500ms"), "a flat variable of an earlier release");
    assert_eq!(printed["server"]["data_dir"].as_str(), dir.path().to_str());
    assert_eq!(printed["mail"]["smtp_url"].as_str(), Some("********"));
    assert!(!String::from_utf8_lossy(&output.stdout).contains("hunter2"));
}
