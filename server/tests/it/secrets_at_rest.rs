//! Secrets at rest in the SQLite file: no plaintext anywhere in it, and `tether keys rotate` keeps everything readable.

use crate::utils::{Backend, TestApp};
use secrecy::{ExposeSecret, SecretString};
use std::path::Path;
use std::process::Command;
use tether::security::crypto::MasterKey;
use tether::security::vault::Vault;
use tether::store::Store;

/// Every byte of the database: the main file and SQLite's write-ahead log and shared memory.
fn database_bytes(dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with("tether.db") {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(bytes.len() > 4096, "the database files were found");
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_plaintext_in_the_sqlite_file_and_rotation_keeps_it_readable() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let organization = Some(app.first.organization.id);
    let plaintexts = ["ya29.provider-access-token-0123", "1//refresh-token-abcdef", "client-secret-XYZ-789"];
    let vault = app.hub.vault();
    let mut ids = Vec::new();
    for plaintext in plaintexts {
        ids.push(vault.put(organization, "test", &SecretString::from(plaintext.to_owned())).await.unwrap());
    }
    let data_dir = app.db.dir.path().to_path_buf();
    let first = &app.first;
    let revealed = [
        first.organization_secret.expose_secret().to_owned(),
        first.user_secret.expose_secret().to_owned(),
        first.password.expose_secret().to_owned(),
    ];
    let database_url = app.db.url.clone();
    app.hub.store().close().await;

    let bytes = database_bytes(&data_dir);
    assert!(contains(&bytes, "admin@tether.local"), "the scan reads real data");
    for plaintext in plaintexts.iter().map(|text| text.to_string()).chain(revealed) {
        assert!(!contains(&bytes, &plaintext), "plaintext {plaintext:.6}… found in the SQLite files");
    }

    // Rotate with the real binary, as an operator would.
    let output = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(["keys", "rotate"])
        .env("TETHER_DATA_DIR", &data_dir)
        .env("DATABASE_URL", &database_url)
        .env("TETHER_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("Data key version 2 is now current; re-encrypted 3 secret(s)."), "{stdout}");

    let store = Store::connect(&database_url).await.unwrap();
    assert_eq!(store.vault_entries_per_key_version().await.unwrap(), vec![(2, 3)]);
    let audit = store.audit_records(app.first.organization.id, 50).await.unwrap();
    let rotation = audit.iter().find(|record| record.entry.action == "keys.rotated").expect("the rotation is audited");
    assert_eq!((rotation.entry.actor.as_str(), rotation.entry.target.as_str()), ("cli", "data_key:2"));
    let master = MasterKey::load_or_create(&data_dir.join(tether::MASTER_KEY_FILE)).unwrap();
    let vault = Vault::open(store.clone(), master).await.unwrap();
    for (id, plaintext) in ids.iter().zip(plaintexts) {
        assert_eq!(vault.read(*id, &tether::store::audit::Actor::System).await.unwrap().expose_secret(), plaintext);
    }
    store.close().await;
    let bytes = database_bytes(&data_dir);
    for plaintext in plaintexts {
        assert!(!contains(&bytes, plaintext), "plaintext found after rotation");
    }
}

/// Secret types cannot be serialized by accident; only the deliberate one-time reveal type can.
#[test]
fn secret_types_do_not_serialize() {
    use static_assertions::assert_not_impl_any;
    assert_not_impl_any!(SecretString: serde::Serialize);
    assert_not_impl_any!(app::hub::ApiCredentials: serde::Serialize);
    assert_not_impl_any!(app::hub::ConsoleSession: serde::Serialize);
    assert_not_impl_any!(app::types::NewUser: serde::Serialize);
    assert_not_impl_any!(tether::hub::NewOrganization: serde::Serialize);
    assert_not_impl_any!(MasterKey: serde::Serialize, std::fmt::Debug);

    let revealed = app::revealed::RevealedSecret::new("s3cr3t".into());
    assert_eq!(format!("{revealed:?}"), "RevealedSecret(********)");
    let typed = app::types::TypedPassword("hunter2hunter2".into());
    assert!(!format!("{typed:?}").contains("hunter2"));
    // The configuration serializes only for `tether config`, and then with every secret masked.
    let mut config = tether::config::Config::for_tests(Path::new("/tmp"), None);
    config.server.master_key = Some(SecretString::from("master-key-material".to_owned()));
    config.mail.smtp_url = Some(SecretString::from("smtp://user:smtp-password@mail.example.com".to_owned()));
    config.sms.token = Some(SecretString::from("sms-token-material".to_owned()));
    let shown = [format!("{config:?}"), serde_json::to_string(&config).unwrap(), config.to_toml()];
    for text in shown {
        for secret in ["master-key-material", "smtp-password", "sms-token-material"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
}
