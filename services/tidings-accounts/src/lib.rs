//! Operator accounts: who may log in to the console of an app.
//!
//! An account is a name and an Argon2id hash of its password (a PHC string, with a random
//! salt and OWASP's recommended parameters: 19 MiB of memory, 2 passes, 1 lane), kept in
//! the configured store through [`OperatorStore`]. [`Accounts::add`] creates one (`tidings
//! operator add`), [`Accounts::reset_password`] replaces an existing one's password, and
//! [`Accounts::authenticate`] checks a login. Hashing takes tens of milliseconds of CPU, so
//! it runs on tokio's blocking pool.
//!
//! A login with an unknown name fails exactly like one with a wrong password, and takes
//! as long: the password is then checked against a dummy hash of the same parameters, so
//! neither the answer nor its timing tells which names exist.

mod hashing;
mod rules;

use std::sync::Arc;

use tidings_domain::{AppId, FieldError};
use tidings_ports::{Operator, OperatorStore, StoreError};

pub use rules::{MAX_NAME_CHARS, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, validate_name, validate_password};

/// Why an account was not written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// The name or the password breaks a rule; the field says which.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error("app {app_id} has an operator named {name:?} already (reset its password instead)")]
    Exists { app_id: AppId, name: String },
    #[error("app {app_id} has no operator named {name:?}")]
    NotFound { app_id: AppId, name: String },
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// The name is unknown or the password is wrong: deliberately one answer for both.
    #[error("unknown operator or wrong password")]
    InvalidCredentials,
    /// The stored hash can't be read, or hashing failed.
    #[error("password check failed: {0}")]
    Hashing(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl LoginError {
    /// Whether the same login may succeed later (the store was unavailable).
    pub fn is_retriable(&self) -> bool {
        matches!(self, LoginError::Store(error) if error.is_retriable())
    }
}

/// Operator accounts over an [`OperatorStore`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Accounts {
    store: Arc<dyn OperatorStore>,
}

impl Accounts {
    pub fn new(store: Arc<dyn OperatorStore>) -> Self {
        Self { store }
    }

    /// Creates the operator `name` of `app_id` with `password`. Refuses a name the app has
    /// already ([`AccountError::Exists`]): to change a password use
    /// [`Accounts::reset_password`]. Two concurrent adds of one name may both succeed, the
    /// last one's password winning.
    pub async fn add(&self, app_id: AppId, name: &str, password: &str) -> Result<Operator, AccountError> {
        self.write(app_id, name, password, false).await
    }

    /// Replaces the password of the existing operator `name` of `app_id`.
    pub async fn reset_password(&self, app_id: AppId, name: &str, password: &str) -> Result<Operator, AccountError> {
        self.write(app_id, name, password, true).await
    }

    /// The app's operators, by name.
    pub async fn list(&self, app_id: AppId) -> Result<Vec<Operator>, StoreError> {
        self.store.list_operators(app_id).await
    }

    /// The operator `name` of `app_id` if `password` is theirs. An unknown name and a wrong
    /// password give the same [`LoginError::InvalidCredentials`], after the same work.
    pub async fn authenticate(&self, app_id: AppId, name: &str, password: &str) -> Result<Operator, LoginError> {
        let found = self.store.operator(app_id, name).await?;
        let hash = found.as_ref().map(|operator| operator.password_hash.clone());
        let matches = hashing::verify_blocking(password.to_owned(), hash).await?;
        match (found, matches) {
            (Some(operator), true) => Ok(operator),
            _ => Err(LoginError::InvalidCredentials),
        }
    }

    /// Checks the rules and whether the name exists as `existing` says it must, then hashes
    /// and stores.
    async fn write(&self, app_id: AppId, name: &str, password: &str, existing: bool) -> Result<Operator, AccountError> {
        validate_name(name)?;
        validate_password(password)?;
        match (self.store.operator(app_id, name).await?.is_some(), existing) {
            (true, false) => return Err(AccountError::Exists { app_id, name: name.to_owned() }),
            (false, true) => return Err(AccountError::NotFound { app_id, name: name.to_owned() }),
            _ => {}
        }
        let password_hash = hashing::hash_blocking(password.to_owned()).await.map_err(AccountError::Hashing)?;
        let operator =
            Operator { app_id, name: name.to_owned(), password_hash, created_at_us: tidings_domain::time::now_us() };
        self.store.put_operator(&operator).await?;
        Ok(operator)
    }
}
