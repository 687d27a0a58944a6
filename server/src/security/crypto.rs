//! Encryption at rest: AES-256-GCM under versioned data keys, which are themselves sealed by the master key.
//!
//! A ciphertext is `version (4 bytes, big-endian) ‖ nonce (12 bytes) ‖ sealed bytes`, with the version also bound as
//! associated data. Rotation adds a data key; older versions keep decrypting until their ciphertexts are rewritten.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::RngCore;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, RwLock};

const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 12;
const VERSION_BYTES: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("ciphertext is too short or malformed")]
    Malformed,
    #[error("no data key with version {0}")]
    UnknownKeyVersion(u32),
    #[error("decryption failed: wrong key or tampered ciphertext")]
    DecryptionFailed,
    #[error("invalid master key: {0}")]
    InvalidMasterKey(String),
    #[error("decrypted secret is not UTF-8")]
    NotUtf8,
}

/// Encrypts `plaintext` with a fresh random nonce: `nonce ‖ ciphertext`.
fn seal(cipher: &Aes256Gcm, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_BYTES];
    OsRng.fill_bytes(&mut nonce);
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad })
        .expect("AES-GCM encryption of an in-memory buffer cannot fail");
    let mut out = Vec::with_capacity(NONCE_BYTES + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

fn open(cipher: &Aes256Gcm, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < NONCE_BYTES {
        return Err(CryptoError::Malformed);
    }
    let (nonce, body) = sealed.split_at(NONCE_BYTES);
    cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad }).map_err(|_| CryptoError::DecryptionFailed)
}

fn random_key() -> [u8; KEY_BYTES] {
    let mut key = [0u8; KEY_BYTES];
    OsRng.fill_bytes(&mut key);
    key
}

/// The key that seals the data keys. It lives outside the database: in `TETHER_MASTER_KEY` or a 0600 file.
pub struct MasterKey(Aes256Gcm);

const MASTER_AAD: &[u8] = b"tether data key";

impl MasterKey {
    /// Parses base64 of 32 bytes.
    pub fn from_base64(encoded: &SecretString) -> Result<MasterKey, CryptoError> {
        let bytes = BASE64
            .decode(encoded.expose_secret().trim())
            .map_err(|_| CryptoError::InvalidMasterKey("not valid base64".into()))?;
        let cipher = Aes256Gcm::new_from_slice(&bytes)
            .map_err(|_| CryptoError::InvalidMasterKey(format!("expected {KEY_BYTES} bytes, found {}", bytes.len())))?;
        Ok(MasterKey(cipher))
    }

    /// Reads the key file, or creates it with mode 0600 when it does not exist yet.
    pub fn load_or_create(path: &Path) -> anyhow::Result<MasterKey> {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if path.exists() {
            let mode = std::fs::metadata(path)?.permissions().mode();
            if mode & 0o077 != 0 {
                anyhow::bail!(
                    "master key file {} is readable by others (mode {:o}); run `chmod 600` on it",
                    path.display(),
                    mode & 0o777
                );
            }
            let encoded = SecretString::from(std::fs::read_to_string(path)?);
            return Ok(MasterKey::from_base64(&encoded)?);
        }
        let encoded = SecretString::from(BASE64.encode(random_key()));
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
        file.write_all(encoded.expose_secret().as_bytes())?;
        file.sync_all()?;
        tracing::info!(path = %path.display(), "generated a new master key");
        Ok(MasterKey::from_base64(&encoded)?)
    }

    /// A random master key, for tests.
    pub fn generate() -> MasterKey {
        MasterKey(Aes256Gcm::new_from_slice(&random_key()).expect("32-byte key"))
    }
}

/// A data key sealed by the master key, as stored in the database.
pub struct SealedDataKey {
    pub version: u32,
    pub sealed: Vec<u8>,
}

/// All data keys, unsealed in memory, and the version new ciphertexts use.
#[derive(Clone)]
pub struct Keyring {
    master: Arc<MasterKey>,
    keys: Arc<RwLock<BTreeMap<u32, Aes256Gcm>>>,
}

impl Keyring {
    pub fn new(master: MasterKey) -> Keyring {
        Keyring { master: Arc::new(master), keys: Arc::default() }
    }

    /// Unseals stored data keys and adds them to the ring; a key that does not unseal means the wrong master key.
    pub fn install(&self, stored: &[SealedDataKey]) -> Result<(), CryptoError> {
        let mut unsealed = Vec::with_capacity(stored.len());
        for key in stored {
            let bytes = open(&self.master.0, &key.sealed, MASTER_AAD).map_err(|_| {
                CryptoError::InvalidMasterKey(format!(
                    "data key version {} does not unseal: this is not the master key the database was made with",
                    key.version
                ))
            })?;
            let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| CryptoError::Malformed)?;
            unsealed.push((key.version, cipher));
        }
        self.keys.write().expect("keyring lock").extend(unsealed);
        Ok(())
    }

    /// Makes a new data key one version above the newest, sealed for storage. It is not used until installed.
    pub fn next_key(&self) -> SealedDataKey {
        SealedDataKey {
            version: self.current_version().map_or(1, |version| version + 1),
            sealed: seal(&self.master.0, &random_key(), MASTER_AAD),
        }
    }

    /// The version new ciphertexts are written with.
    pub fn current_version(&self) -> Option<u32> {
        self.keys.read().expect("keyring lock").keys().next_back().copied()
    }

    pub fn knows(&self, version: u32) -> bool {
        self.keys.read().expect("keyring lock").contains_key(&version)
    }

    pub fn encrypt(&self, secret: &SecretString) -> Result<Vec<u8>, CryptoError> {
        let keys = self.keys.read().expect("keyring lock");
        let (version, cipher) = keys.iter().next_back().ok_or(CryptoError::UnknownKeyVersion(0))?;
        let header = version.to_be_bytes();
        let mut out = header.to_vec();
        out.extend(seal(cipher, secret.expose_secret().as_bytes(), &header));
        Ok(out)
    }

    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<SecretString, CryptoError> {
        let version = key_version(ciphertext)?;
        let keys = self.keys.read().expect("keyring lock");
        let cipher = keys.get(&version).ok_or(CryptoError::UnknownKeyVersion(version))?;
        let plain = open(cipher, &ciphertext[VERSION_BYTES..], &ciphertext[..VERSION_BYTES])?;
        String::from_utf8(plain).map(SecretString::from).map_err(|_| CryptoError::NotUtf8)
    }

    /// A keyring with one random data key, for tests.
    pub fn for_tests() -> Keyring {
        let keyring = Keyring::new(MasterKey::generate());
        let first = keyring.next_key();
        keyring.install(&[first]).expect("fresh key unseals");
        keyring
    }
}

/// The data key version a ciphertext was written with.
pub fn key_version(ciphertext: &[u8]) -> Result<u32, CryptoError> {
    let header: [u8; VERSION_BYTES] =
        ciphertext.get(..VERSION_BYTES).and_then(|bytes| bytes.try_into().ok()).ok_or(CryptoError::Malformed)?;
    Ok(u32::from_be_bytes(header))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[test]
    fn round_trip_hides_the_plaintext() {
        let keyring = Keyring::for_tests();
        let sealed = keyring.encrypt(&secret("refresh-token-123")).unwrap();
        assert!(!sealed.windows(17).any(|w| w == b"refresh-token-123"));
        assert_eq!(keyring.decrypt(&sealed).unwrap().expose_secret(), "refresh-token-123");
        assert_eq!(key_version(&sealed).unwrap(), 1);
    }

    #[test]
    fn same_plaintext_gives_different_ciphertexts() {
        let keyring = Keyring::for_tests();
        let a = keyring.encrypt(&secret("x")).unwrap();
        let b = keyring.encrypt(&secret("x")).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn tampering_is_detected() {
        let keyring = Keyring::for_tests();
        let mut sealed = keyring.encrypt(&secret("value")).unwrap();
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(matches!(keyring.decrypt(&sealed), Err(CryptoError::DecryptionFailed)));
        assert!(matches!(keyring.decrypt(&[0, 0]), Err(CryptoError::Malformed)));
    }

    #[test]
    fn changing_the_version_header_breaks_authentication() {
        let keyring = Keyring::for_tests();
        keyring.install(&[keyring.next_key()]).unwrap();
        let mut sealed = keyring.encrypt(&secret("value")).unwrap();
        assert_eq!(key_version(&sealed).unwrap(), 2);
        sealed[3] = 1;
        assert!(matches!(keyring.decrypt(&sealed), Err(CryptoError::DecryptionFailed)));
    }

    #[test]
    fn rotation_keeps_old_ciphertexts_readable() {
        let keyring = Keyring::for_tests();
        let old = keyring.encrypt(&secret("old")).unwrap();
        keyring.install(&[keyring.next_key()]).unwrap();
        let new = keyring.encrypt(&secret("new")).unwrap();
        assert_eq!(key_version(&old).unwrap(), 1);
        assert_eq!(key_version(&new).unwrap(), 2);
        assert_eq!(keyring.decrypt(&old).unwrap().expose_secret(), "old");
        assert_eq!(keyring.decrypt(&new).unwrap().expose_secret(), "new");
    }

    #[test]
    fn data_keys_need_the_right_master_key() {
        let keyring = Keyring::for_tests();
        let stored = keyring.next_key();
        let stranger = Keyring::new(MasterKey::generate());
        assert!(matches!(stranger.install(&[stored]), Err(CryptoError::InvalidMasterKey(_))));
    }

    #[test]
    fn master_key_file_is_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let first = Keyring::new(MasterKey::load_or_create(&path).unwrap());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let stored = first.next_key();
        let again = Keyring::new(MasterKey::load_or_create(&path).unwrap());
        again.install(&[stored]).expect("the same key comes back from the file");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = MasterKey::load_or_create(&path).err().unwrap().to_string();
        assert!(error.contains("chmod 600"), "{error}");
    }

    #[test]
    fn master_key_from_environment_is_checked() {
        assert!(MasterKey::from_base64(&secret("not base64!")).is_err());
        assert!(MasterKey::from_base64(&secret(&BASE64.encode([1u8; 16]))).is_err());
        assert!(MasterKey::from_base64(&secret(&BASE64.encode([1u8; 32]))).is_ok());
    }
}
