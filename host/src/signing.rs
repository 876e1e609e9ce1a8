//! Signed vendor plugins: ed25519 keys, detached signatures that cover a
//! component's digest and the name and version it reports, and their checks.
//!
//! - `faultline keygen --name acme` writes `acme.key` (secret, mode 0600) and
//!   `acme.pub`; the public key goes into the operator's config as
//!   `[trusted_keys] acme = "ed25519:…"`.
//! - `faultline plugin sign --key acme.key scorer.wasm` writes `scorer.wasm.sig`.
//! - A plugin with `signed_by = "acme"` loads only when its signature file
//!   verifies with that key for exactly these bytes, name and version.

use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

/// Format tag of a signature file; also the first line of the signed message.
const FORMAT: &str = "faultline-plugin-signature/1";
/// Prefix of a public key as written in config and `.pub` files.
const PUBLIC_PREFIX: &str = "ed25519:";
/// Prefix of a secret key in `.key` files.
const SECRET_PREFIX: &str = "ed25519-secret:";

/// Why signing or verifying failed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SignError {
    /// A key or signature file could not be read or written.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// Text that should be a key is not one.
    #[error("{0}")]
    BadKey(String),
    /// The signature does not hold for this component.
    #[error("{0}")]
    Mismatch(String),
}

/// A named public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// Its name (the vendor's).
    pub name: String,
    key: VerifyingKey,
}

impl PublicKey {
    /// Parses `ed25519:<64 hex digits>`.
    pub fn parse(name: &str, text: &str) -> Result<PublicKey, SignError> {
        let bad = || {
            SignError::BadKey(format!(
                "{text:?} is not a public key; expected {PUBLIC_PREFIX} and 64 hex digits (`faultline keygen` prints one)"
            ))
        };
        let hex_part = text.trim().strip_prefix(PUBLIC_PREFIX).ok_or_else(bad)?;
        let bytes: [u8; 32] = hex::decode(hex_part)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(bad)?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| bad())?;
        Ok(PublicKey {
            name: name.to_string(),
            key,
        })
    }

    /// `ed25519:<hex>`.
    pub fn encoded(&self) -> String {
        format!("{PUBLIC_PREFIX}{}", hex::encode(self.key.as_bytes()))
    }
}

/// `NAME.pub` and the public half of `NAME.key`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublicFile {
    name: String,
    public_key: String,
}

/// `NAME.key`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretFile {
    name: String,
    public_key: String,
    secret_key: String,
}

/// A detached signature, stored next to the component as `FILE.wasm.sig`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SignatureFile {
    /// [`FORMAT`].
    pub format: String,
    /// Name of the key that signed.
    pub signer: String,
    /// `sha256:<hex>` of the component.
    pub digest: String,
    /// The name the component reports.
    pub plugin: String,
    /// The version the component reports.
    pub version: String,
    /// Hex ed25519 signature of [`message`].
    pub signature: String,
}

/// What is signed: the format, digest, name and version, one per line.
fn message(digest: &str, plugin: &str, version: &str) -> Vec<u8> {
    format!("{FORMAT}\n{digest}\n{plugin}\n{version}\n").into_bytes()
}

fn read(path: &Path) -> Result<String, SignError> {
    std::fs::read_to_string(path).map_err(|e| SignError::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn write(path: &Path, text: &str, secret: bool) -> Result<(), SignError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |e: std::io::Error| SignError::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if secret { 0o600 } else { 0o644 })
        .open(path)
        .map_err(fail)?;
    file.write_all(text.as_bytes()).map_err(fail)
}

/// Makes a key pair and writes `DIR/NAME.key` (mode 0600) and `DIR/NAME.pub`;
/// refuses to overwrite either. Returns the public key.
pub fn keygen(dir: &Path, name: &str) -> Result<PublicKey, SignError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(SignError::BadKey(format!(
            "{name:?} is not a key name: use letters, digits, - and _"
        )));
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| SignError::BadKey(format!("no randomness: {e}")))?;
    let signing = SigningKey::from_bytes(&seed);
    let public = PublicKey {
        name: name.to_string(),
        key: signing.verifying_key(),
    };
    let secret = SecretFile {
        name: name.to_string(),
        public_key: public.encoded(),
        secret_key: format!("{SECRET_PREFIX}{}", hex::encode(seed)),
    };
    let public_file = PublicFile {
        name: name.to_string(),
        public_key: public.encoded(),
    };
    write(&dir.join(format!("{name}.key")), &pretty(&secret), true)?;
    write(
        &dir.join(format!("{name}.pub")),
        &pretty(&public_file),
        false,
    )?;
    Ok(public)
}

fn pretty(value: &impl Serialize) -> String {
    serde_json::to_string_pretty(value).expect("key and signature files serialize") + "\n"
}

/// Reads a public key from a `.pub` or `.key` file.
pub fn read_public(path: &Path) -> Result<PublicKey, SignError> {
    let text = read(path)?;
    let file: serde_json::Value = serde_json::from_str(&text).map_err(|e| SignError::File {
        path: path.display().to_string(),
        reason: format!("not a key file: {e}"),
    })?;
    let (Some(name), Some(key)) = (file["name"].as_str(), file["public_key"].as_str()) else {
        return Err(SignError::File {
            path: path.display().to_string(),
            reason: "not a key file: it needs `name` and `public_key`".into(),
        });
    };
    PublicKey::parse(name, key)
}

/// Signs a component's digest, name and version with the secret key in `key_file`.
pub fn sign(
    key_file: &Path,
    digest: &str,
    plugin: &str,
    version: &str,
) -> Result<SignatureFile, SignError> {
    let text = read(key_file)?;
    let file: SecretFile = serde_json::from_str(&text).map_err(|e| SignError::File {
        path: key_file.display().to_string(),
        reason: format!("not a secret key file (made by `faultline keygen`): {e}"),
    })?;
    let seed: [u8; 32] = file
        .secret_key
        .strip_prefix(SECRET_PREFIX)
        .and_then(|h| hex::decode(h).ok())
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            SignError::BadKey(format!("{}: malformed secret_key", key_file.display()))
        })?;
    let signing = SigningKey::from_bytes(&seed);
    let signature = signing.sign(&message(digest, plugin, version));
    Ok(SignatureFile {
        format: FORMAT.into(),
        signer: file.name,
        digest: digest.into(),
        plugin: plugin.into(),
        version: version.into(),
        signature: hex::encode(signature.to_bytes()),
    })
}

/// Writes a signature file, replacing an older one.
pub fn write_signature(path: &Path, signature: &SignatureFile) -> Result<(), SignError> {
    let _ = std::fs::remove_file(path);
    write(path, &pretty(signature), false)
}

/// Where a component's detached signature lives by default: `FILE.wasm.sig`.
pub fn signature_path(component: &Path) -> PathBuf {
    let mut name = component.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// Reads a signature file.
pub fn read_signature(path: &Path) -> Result<SignatureFile, SignError> {
    let text = read(path)?;
    serde_json::from_str(&text).map_err(|e| SignError::File {
        path: path.display().to_string(),
        reason: format!("not a faultline signature: {e}"),
    })
}

/// Checks that `signature` was made by `key` for exactly this digest, name and version.
pub fn verify(
    signature: &SignatureFile,
    key: &PublicKey,
    digest: &str,
    plugin: &str,
    version: &str,
) -> Result<(), SignError> {
    if signature.format != FORMAT {
        return Err(SignError::Mismatch(format!(
            "signature format {:?} is not {FORMAT:?}",
            signature.format
        )));
    }
    if signature.signer != key.name {
        return Err(SignError::Mismatch(format!(
            "it is signed by {:?}, not by the trusted key {:?}",
            signature.signer, key.name
        )));
    }
    if signature.digest != digest {
        return Err(SignError::Mismatch(format!(
            "the component changed since it was signed: its digest is {digest}, the signature covers {}",
            signature.digest
        )));
    }
    if (signature.plugin.as_str(), signature.version.as_str()) != (plugin, version) {
        return Err(SignError::Mismatch(format!(
            "the signature is for {} {}, but the component reports {plugin} {version}",
            signature.plugin, signature.version
        )));
    }
    let bytes: [u8; 64] = hex::decode(&signature.signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| SignError::Mismatch("the signature is malformed".into()))?;
    key.key
        .verify(&message(digest, plugin, version), &Signature::from_bytes(&bytes))
        .map_err(|_| {
            SignError::Mismatch(format!(
                "the signature does not verify with {:?}'s key: it was altered or made with another key",
                key.name
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_cover_digest_name_and_version() {
        let dir = std::env::temp_dir().join(format!("faultline-sign-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let public = keygen(&dir, "acme").unwrap();
        assert!(keygen(&dir, "acme").is_err(), "keys are never overwritten");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("acme.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(read_public(&dir.join("acme.pub")).unwrap(), public);
        let digest = format!("sha256:{}", "ab".repeat(32));
        let sig = sign(&dir.join("acme.key"), &digest, "vendor-scorer", "1.2.0").unwrap();
        verify(&sig, &public, &digest, "vendor-scorer", "1.2.0").unwrap();

        let other = format!("sha256:{}", "cd".repeat(32));
        let err = verify(&sig, &public, &other, "vendor-scorer", "1.2.0").unwrap_err();
        assert!(
            err.to_string().contains("changed since it was signed"),
            "{err}"
        );
        let err = verify(&sig, &public, &digest, "vendor-scorer", "1.3.0").unwrap_err();
        assert!(
            err.to_string().contains("reports vendor-scorer 1.3.0"),
            "{err}"
        );
        let mut forged = sig.clone();
        forged.version = "1.3.0".into();
        let err = verify(&forged, &public, &digest, "vendor-scorer", "1.3.0").unwrap_err();
        assert!(err.to_string().contains("does not verify"), "{err}");
        let mallory = keygen(&dir, "mallory").unwrap();
        let stolen_name = PublicKey::parse("acme", &mallory.encoded()).unwrap();
        let err = verify(&sig, &stolen_name, &digest, "vendor-scorer", "1.2.0").unwrap_err();
        assert!(err.to_string().contains("does not verify"), "{err}");
        let err = verify(&sig, &mallory, &digest, "vendor-scorer", "1.2.0").unwrap_err();
        assert!(err.to_string().contains("signed by \"acme\""), "{err}");
        assert!(PublicKey::parse("x", "ed25519:abcd").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
