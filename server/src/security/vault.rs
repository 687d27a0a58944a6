//! The vault: encrypts the secrets Tether must read back, stores them, audits each read, and re-encrypts on rotation.

use crate::security::crypto::{CryptoError, Keyring, MasterKey, key_version};
use crate::store::audit::{Actor, AuditEntry};
use crate::store::vault::{SealedEntry, VaultId};
use crate::store::{Store, StoreError};
use app::types::OrganizationId;
use secrecy::SecretString;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("no vault entry {0}")]
    NotFound(i64),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationReport {
    pub new_version: u32,
    pub reencrypted: usize,
}

/// Encrypted storage of readable secrets. Cloning it is cheap; clones share the keyring.
#[derive(Clone)]
pub struct Vault {
    store: Store,
    keyring: Keyring,
}

impl Vault {
    /// Loads the data keys sealed under `master`, making the first one when the database has none.
    pub async fn open(store: Store, master: MasterKey) -> Result<Vault, VaultError> {
        let vault = Vault { store, keyring: Keyring::new(master) };
        vault.reload_keys().await?;
        if vault.keyring.current_version().is_none() {
            let first = vault.keyring.next_key();
            // Another node may have made version 1 at the same moment; then its key is the one to use.
            match vault.store.insert_data_key(&first).await {
                Ok(()) | Err(StoreError::Conflict) => vault.reload_keys().await?,
                Err(error) => return Err(error.into()),
            }
        }
        Ok(vault)
    }

    async fn reload_keys(&self) -> Result<(), VaultError> {
        let stored = self.store.list_data_keys().await?;
        self.keyring.install(&stored)?;
        Ok(())
    }

    /// The keyring, for callers that encrypt values kept outside the vault table.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    pub async fn put(
        &self,
        organization: Option<OrganizationId>,
        purpose: &str,
        secret: &SecretString,
    ) -> Result<VaultId, VaultError> {
        let entry = self.seal_entry(secret)?;
        Ok(self.store.insert_vault_entry(organization, purpose, entry.key_version, entry.ciphertext).await?)
    }

    /// Decrypts a secret for Tether's own use, such as injecting credentials into a proxied call; such uses
    /// happen on every call and are not audited one by one. A person's read goes through [`Vault::read`].
    pub async fn use_secret(&self, id: VaultId) -> Result<SecretString, VaultError> {
        let row = self.store.vault_entry(id).await?;
        self.use_ciphertext(id, row.map(|row| row.ciphertext).as_deref()).await
    }

    /// Decrypts the entry `id` from a ciphertext read along with other rows (`None`: the entry is gone), for
    /// Tether's own use, like [`Vault::use_secret`].
    pub async fn use_ciphertext(&self, id: VaultId, ciphertext: Option<&[u8]>) -> Result<SecretString, VaultError> {
        self.decrypt(ciphertext.ok_or(VaultError::NotFound(id.0))?).await
    }

    /// Decrypts a secret and writes who read it to the audit log.
    pub async fn read(&self, id: VaultId, actor: &Actor) -> Result<SecretString, VaultError> {
        let row = self.store.vault_entry(id).await?.ok_or(VaultError::NotFound(id.0))?;
        let secret = self.decrypt(&row.ciphertext).await?;
        self.store
            .record_audit(&AuditEntry {
                organization_id: row.organization_id,
                actor: actor.to_string(),
                action: "secret.read".into(),
                target: format!("vault:{} ({})", id.0, row.purpose),
                request_id: crate::telemetry::current_request_id(),
            })
            .await?;
        Ok(secret)
    }

    /// Encrypts a secret for a vault entry that a transaction elsewhere in the store writes.
    pub fn seal_entry(&self, secret: &SecretString) -> Result<SealedEntry, VaultError> {
        let ciphertext = self.keyring.encrypt(secret)?;
        Ok(SealedEntry { key_version: key_version(&ciphertext)?, ciphertext })
    }

    /// Puts `secret` in place of entry `id`'s.
    pub async fn replace(&self, id: VaultId, secret: &SecretString) -> Result<(), VaultError> {
        self.replace_sealed(id, self.seal_entry(secret)?).await
    }

    /// Writes an entry [`Vault::seal_entry`] made in place of entry `id`'s.
    pub async fn replace_sealed(&self, id: VaultId, sealed: SealedEntry) -> Result<(), VaultError> {
        if self.store.update_vault_entry(id, sealed).await? { Ok(()) } else { Err(VaultError::NotFound(id.0)) }
    }

    /// Encrypts a short-lived value kept outside the vault table, such as a pending flow's PKCE verifier.
    pub fn seal(&self, secret: &SecretString) -> Result<Vec<u8>, VaultError> {
        Ok(self.keyring.encrypt(secret)?)
    }

    /// Decrypts what [`Vault::seal`] made.
    pub async fn unseal(&self, sealed: &[u8]) -> Result<SecretString, VaultError> {
        self.decrypt(sealed).await
    }

    pub async fn remove(&self, id: VaultId) -> Result<(), VaultError> {
        self.store.delete_vault_entry(id).await?;
        Ok(())
    }

    /// Decrypts, first fetching keys that another node may have added since this one loaded them.
    async fn decrypt(&self, ciphertext: &[u8]) -> Result<SecretString, VaultError> {
        if !self.keyring.knows(key_version(ciphertext)?) {
            self.reload_keys().await?;
        }
        Ok(self.keyring.decrypt(ciphertext)?)
    }

    /// Adds a data key, re-encrypts every entry written under an older one, and records the rotation by `actor`
    /// in every organization's audit log, since it touches all their secrets.
    pub async fn rotate(&self, actor: &Actor) -> Result<RotationReport, VaultError> {
        self.reload_keys().await?;
        let key = self.keyring.next_key();
        let new_version = key.version;
        self.store.insert_data_key(&key).await?;
        self.keyring.install(&[key])?;
        let reencrypted = self.reencrypt_older_than(new_version).await?;
        for organization in self.store.organization_ids().await? {
            self.store
                .record_audit(&AuditEntry {
                    organization_id: Some(organization),
                    actor: actor.to_string(),
                    action: "keys.rotated".into(),
                    target: format!("data_key:{new_version}"),
                    request_id: crate::telemetry::current_request_id(),
                })
                .await?;
        }
        Ok(RotationReport { new_version, reencrypted })
    }

    /// Rewrites entries under the current key, in batches, until none older than `version` is left.
    pub async fn reencrypt_older_than(&self, version: u32) -> Result<usize, VaultError> {
        let mut done = 0;
        loop {
            let batch = self.store.vault_entries_older_than(version, 200).await?;
            if batch.is_empty() {
                return Ok(done);
            }
            for (id, ciphertext) in batch {
                let secret = self.decrypt(&ciphertext).await?;
                self.replace(id, &secret).await?;
                done += 1;
            }
        }
    }
}
