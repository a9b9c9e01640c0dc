//! Argon2id hashing and verification, on tokio's blocking pool.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::LoginError;

/// OWASP's first recommendation for Argon2id: 19 MiB, 2 iterations, 1 degree of parallelism.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP's parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string of `password` under a fresh random 16-byte salt.
pub(crate) fn hash(password: &str) -> Result<String, String> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|error| error.to_string())?;
    argon2().hash_password(password.as_bytes(), &salt).map(|hash| hash.to_string()).map_err(|error| error.to_string())
}

/// Whether `password` matches the PHC string `stored`; with none, checks it against a
/// dummy hash (and answers no) so that the time taken does not tell.
pub(crate) fn verify(password: &str, stored: Option<&str>) -> Result<bool, LoginError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("no operator has this password").expect("hashing a constant"));
    let phc = stored.unwrap_or(dummy);
    let parsed = PasswordHash::new(phc).map_err(|error| LoginError::Hashing(format!("stored hash: {error}")))?;
    let matches = argon2().verify_password(password.as_bytes(), &parsed).is_ok();
    Ok(matches && stored.is_some())
}

pub(crate) async fn hash_blocking(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || hash(&password)).await.map_err(|error| error.to_string())?
}

pub(crate) async fn verify_blocking(password: String, stored: Option<String>) -> Result<bool, LoginError> {
    tokio::task::spawn_blocking(move || verify(&password, stored.as_deref()))
        .await
        .map_err(|error| LoginError::Hashing(error.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_salted_argon2id_phc_strings_that_verify() {
        let first = hash("correct horse").unwrap();
        let second = hash("correct horse").unwrap();
        assert!(first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{first}");
        assert_ne!(first, second, "a fresh salt each time");
        assert!(verify("correct horse", Some(&first)).unwrap());
        assert!(!verify("correct horsf", Some(&first)).unwrap());
        assert!(!verify("no operator has this password", None).unwrap(), "the dummy never matches");
        assert!(matches!(verify("x", Some("not a phc string")), Err(LoginError::Hashing(_))));
    }
}
