//! Operator sessions: a signed, expiring token in an `HttpOnly`, `SameSite=Strict` cookie,
//! and the CSRF token every mutating form carries.
//!
//! The session is stateless (an HMAC-signed JWT under a key derived from the auth secret, with
//! its own audience), so every process of the ingest role accepts every other's sessions.
//! `SameSite=Strict` already keeps other sites' requests from carrying the cookie; the CSRF
//! token, a random value in the session that each form echoes, is the second lock for
//! browsers or proxies that drop the attribute.

use std::time::Duration;

use cookie::{Cookie, SameSite};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::Rng;
use serde::{Deserialize, Serialize};
use tidings_domain::AppId;

pub const COOKIE_NAME: &str = "tidings_console";
const AUDIENCE: &str = "tidings-console";
/// Separates the session key from the API tokens' key, which is the same secret.
const KEY_CONTEXT: &[u8] = b"tidings-console-session/";

/// A logged-in operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub app_id: AppId,
    pub operator: String,
    /// What each mutating form must carry back.
    pub csrf: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct SessionClaims {
    #[serde(flatten)]
    session: Session,
    aud: String,
    exp: u64,
}

/// Why a request has no session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoSession {
    /// No cookie: never logged in, or logged out.
    Missing,
    Expired,
    /// Not signed by us, or not a console session.
    Invalid,
}

impl NoSession {
    pub fn as_str(&self) -> &'static str {
        match self {
            NoSession::Missing => "missing",
            NoSession::Expired => "expired",
            NoSession::Invalid => "invalid",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [NoSession::Missing, NoSession::Expired, NoSession::Invalid].into_iter().find(|n| n.as_str() == value)
    }

    /// What the login page says about it.
    pub fn explanation(&self) -> &'static str {
        match self {
            NoSession::Missing => "Log in to continue.",
            NoSession::Expired => "Your session expired: log in again. Nothing was changed.",
            NoSession::Invalid => "Your session is not valid here: log in again. Nothing was changed.",
        }
    }
}

/// Opens and checks sessions.
pub struct Sessions {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
    secure_cookie: bool,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl Sessions {
    pub fn new(secret: &[u8], ttl: Duration, secure_cookie: bool) -> Self {
        let key = [KEY_CONTEXT, secret].concat();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = 0;
        Self {
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
            validation,
            ttl,
            secure_cookie,
        }
    }

    /// A new session for `operator` of `app_id`, and the `Set-Cookie` value that starts it.
    pub fn open(&self, app_id: AppId, operator: &str) -> (Session, String) {
        let csrf: [u8; 16] = rand::rng().random();
        let session = Session { app_id, operator: operator.to_owned(), csrf: hex(&csrf) };
        let exp = jsonwebtoken::get_current_timestamp() + self.ttl.as_secs();
        let claims = SessionClaims { session: session.clone(), aud: AUDIENCE.into(), exp };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing of a serializable struct cannot fail");
        let cookie = self.cookie(token, self.ttl);
        (session, cookie)
    }

    /// The `Set-Cookie` value that ends a session.
    pub fn close(&self) -> String {
        self.cookie(String::new(), Duration::ZERO)
    }

    /// The session a request's `Cookie` header carries.
    pub fn verify(&self, cookie_header: Option<&str>) -> Result<Session, NoSession> {
        let token = cookie_header
            .into_iter()
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|cookie| cookie.name() == COOKIE_NAME && !cookie.value().is_empty())
            .ok_or(NoSession::Missing)?;
        match jsonwebtoken::decode::<SessionClaims>(token.value(), &self.decoding, &self.validation) {
            Ok(data) => Ok(data.claims.session),
            Err(error) if matches!(error.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => {
                Err(NoSession::Expired)
            }
            Err(_) => Err(NoSession::Invalid),
        }
    }

    fn cookie(&self, value: String, max_age: Duration) -> String {
        let max_age = cookie::time::Duration::seconds(i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX));
        Cookie::build((COOKIE_NAME, value))
            .path("/console")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.secure_cookie)
            .max_age(max_age)
            .build()
            .to_string()
    }
}

impl Session {
    /// Whether a form's CSRF token is this session's (compared in constant time).
    pub fn accepts_csrf(&self, offered: Option<&str>) -> bool {
        let Some(offered) = offered else { return false };
        let (a, b) = (offered.as_bytes(), self.csrf.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions(ttl: Duration) -> Sessions {
        Sessions::new(b"secret", ttl, false)
    }

    fn cookie_pair(set_cookie: &str) -> String {
        set_cookie.split(';').next().unwrap().to_owned()
    }

    #[test]
    fn an_opened_session_verifies_from_its_cookie() {
        let sessions = sessions(Duration::from_secs(60));
        let (session, set_cookie) = sessions.open(7, "alice");
        assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
        assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
        assert!(set_cookie.contains("Path=/console"), "{set_cookie}");
        let header = format!("other=1; {}", cookie_pair(&set_cookie));
        assert_eq!(sessions.verify(Some(&header)), Ok(session));
    }

    #[test]
    fn missing_forged_foreign_and_expired_sessions_are_refused() {
        let sessions = sessions(Duration::from_secs(60));
        assert_eq!(sessions.verify(None), Err(NoSession::Missing));
        assert_eq!(sessions.verify(Some(&cookie_pair(&sessions.close()))), Err(NoSession::Missing));
        let (_, theirs) = Sessions::new(b"another secret", Duration::from_secs(60), false).open(7, "mallory");
        assert_eq!(sessions.verify(Some(&cookie_pair(&theirs))), Err(NoSession::Invalid));
        let (_, expired) = Sessions::new(b"secret", Duration::ZERO, false).open(7, "alice");
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(sessions.verify(Some(&cookie_pair(&expired))), Err(NoSession::Expired));
    }

    #[test]
    fn csrf_tokens_must_match_exactly() {
        let (session, _) = sessions(Duration::from_secs(60)).open(7, "alice");
        assert!(session.accepts_csrf(Some(&session.csrf.clone())));
        assert!(!session.accepts_csrf(None));
        assert!(!session.accepts_csrf(Some("")));
        assert!(!session.accepts_csrf(Some(&session.csrf[1..])));
        let (other, _) = sessions(Duration::from_secs(60)).open(7, "alice");
        assert!(!session.accepts_csrf(Some(&other.csrf)));
    }
}
