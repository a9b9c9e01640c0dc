//! Credentials: HS256 JWTs carrying a role and an app scope (docs/design.md#nobody-reads-what-isnt-theirs).

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tidings_domain::audit::Actor;
use tidings_domain::message::Mailbox;
use tidings_domain::{AppId, Uid};

/// Who a token speaks for (the caller's role, not a process role).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallerRole {
    /// A client device: opens only the mailbox of `sub` in `app_id`.
    User,
    /// A business server: sends and manages broadcasts within `app_id`.
    App,
    /// A console operator: manages broadcasts and the whitelist within `app_id`.
    Operator,
}

impl CallerRole {
    pub const ALL: [CallerRole; 3] = [CallerRole::User, CallerRole::App, CallerRole::Operator];

    /// The role's name in a token's `role` claim.
    pub fn as_str(&self) -> &'static str {
        match self {
            CallerRole::User => "user",
            CallerRole::App => "app",
            CallerRole::Operator => "operator",
        }
    }
}

impl std::str::FromStr for CallerRole {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == value)
            .ok_or_else(|| format!("{value:?} is not a role: expected user, app or operator"))
    }
}

/// A token's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub role: CallerRole,
    pub app_id: AppId,
    /// The uid, for `role = user`; the caller's name otherwise.
    pub sub: String,
    /// Expiry, unix seconds.
    pub exp: i64,
    /// A device not logged in to an account.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub guest: bool,
}

impl Claims {
    /// The mailbox a user token opens.
    pub fn mailbox(&self) -> Result<Mailbox, AuthError> {
        if self.role != CallerRole::User {
            return Err(AuthError::Forbidden(format!("a {} token opens no mailbox", self.role.as_str())));
        }
        let uid: Uid = self
            .sub
            .parse()
            .ok()
            .filter(|uid| *uid > 0)
            .ok_or_else(|| AuthError::Invalid(format!("sub {:?} is not a positive uid", self.sub)))?;
        Ok(Mailbox::new(self.app_id, uid))
    }

    /// Checks that the token has one of `roles` and is scoped to `app_id`.
    pub fn require(&self, roles: &[CallerRole], app_id: AppId) -> Result<(), AuthError> {
        if !roles.contains(&self.role) {
            let allowed: Vec<&str> = roles.iter().map(CallerRole::as_str).collect();
            return Err(AuthError::Forbidden(format!(
                "a {} token can't do this; it takes {}",
                self.role.as_str(),
                allowed.join(" or ")
            )));
        }
        if self.app_id != app_id {
            return Err(AuthError::Forbidden(format!("the token is scoped to app {}, not {app_id}", self.app_id)));
        }
        Ok(())
    }
}

impl Claims {
    /// Checks that the token is an operator's or an app's, scoped to `app_id`, and names
    /// who it speaks for in the audit trail: the operator named by `sub`, or the app
    /// token's subject.
    pub fn actor(&self, app_id: AppId) -> Result<Actor, AuthError> {
        self.require(&[CallerRole::Operator, CallerRole::App], app_id)?;
        match self.role {
            CallerRole::Operator => Ok(Actor::Operator(self.sub.clone())),
            _ => Ok(Actor::App(self.sub.clone())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token in the Authorization header")]
    Missing,
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
}

/// The longest `Authorization` header looked at: a token is a few hundred bytes; a longer
/// header is refused before any decoding work.
pub const MAX_AUTHORIZATION_BYTES: usize = 4096;

/// Signs and checks tokens with one shared secret.
#[derive(Clone)]
pub struct Authenticator {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Authenticator { secret: <hidden> }")
    }
}

impl Authenticator {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // A token without an expiry would be good forever; one not valid yet is not valid.
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), validation }
    }

    pub fn mint(&self, claims: &Claims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing of serializable claims cannot fail")
    }

    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|error| AuthError::Invalid(error.to_string()))
    }

    /// Checks an `Authorization` header value (at most [`MAX_AUTHORIZATION_BYTES`]).
    pub fn verify_header(&self, header: Option<&str>) -> Result<Claims, AuthError> {
        if let Some(value) = header
            && value.len() > MAX_AUTHORIZATION_BYTES
        {
            return Err(AuthError::Invalid(format!(
                "the Authorization header has {} bytes, above {MAX_AUTHORIZATION_BYTES}",
                value.len()
            )));
        }
        let token = header
            .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(AuthError::Missing)?;
        self.verify(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(role: CallerRole, exp: i64) -> Claims {
        Claims { role, app_id: 1, sub: "42".into(), exp, guest: false }
    }

    #[test]
    fn minted_tokens_verify_and_forged_or_expired_ones_do_not() {
        let auth = Authenticator::new(b"secret");
        let far = tidings_domain::time::now_s() + 3600;
        let token = auth.mint(&claims(CallerRole::User, far));
        assert_eq!(auth.verify(&token).unwrap().mailbox().unwrap(), Mailbox::new(1, 42));
        assert!(matches!(Authenticator::new(b"other").verify(&token), Err(AuthError::Invalid(_))));
        let expired = auth.mint(&claims(CallerRole::User, 1_000));
        assert!(matches!(auth.verify(&expired), Err(AuthError::Invalid(_))));
        assert_eq!(auth.verify_header(None), Err(AuthError::Missing));
    }

    /// A token with the given raw claims (any JSON), signed with `secret`.
    fn raw_token(claims: serde_json::Value) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(b"secret"))
            .expect("signing")
    }

    #[test]
    fn tokens_without_an_expiry_or_not_valid_yet_are_refused() {
        let auth = Authenticator::new(b"secret");
        let now = tidings_domain::time::now_s();
        let base = serde_json::json!({"role": "user", "app_id": 1, "sub": "42"});
        let with = |extra: serde_json::Value| {
            let mut claims = base.clone();
            claims.as_object_mut().expect("an object").extend(extra.as_object().expect("an object").clone());
            raw_token(claims)
        };
        assert!(auth.verify(&with(serde_json::json!({"exp": now + 60}))).is_ok(), "the control");
        assert!(matches!(auth.verify(&with(serde_json::json!({}))), Err(AuthError::Invalid(_))), "no exp");
        let later = with(serde_json::json!({"exp": now + 3600, "nbf": now + 600}));
        assert!(matches!(auth.verify(&later), Err(AuthError::Invalid(_))), "nbf in 10 minutes");
        let begun = with(serde_json::json!({"exp": now + 3600, "nbf": now - 1}));
        assert!(auth.verify(&begun).is_ok(), "nbf passed");
    }

    #[test]
    fn an_oversized_authorization_header_is_refused_unread() {
        let auth = Authenticator::new(b"secret");
        let token = auth.mint(&claims(CallerRole::User, tidings_domain::time::now_s() + 60));
        let padded = format!("Bearer {token}{}", " ".repeat(MAX_AUTHORIZATION_BYTES));
        let Err(AuthError::Invalid(reason)) = auth.verify_header(Some(&padded)) else { panic!("accepted") };
        assert!(reason.contains("Authorization header"), "{reason}");
        assert!(auth.verify_header(Some(&format!("Bearer {token}"))).is_ok());
    }

    #[test]
    fn scopes_are_enforced() {
        let app = claims(CallerRole::App, 0);
        assert!(app.require(&[CallerRole::App], 1).is_ok());
        assert!(matches!(app.require(&[CallerRole::App], 2), Err(AuthError::Forbidden(_))));
        assert!(matches!(app.require(&[CallerRole::Operator], 1), Err(AuthError::Forbidden(_))));
        assert!(matches!(app.mailbox(), Err(AuthError::Forbidden(_))));
    }
}
