//! Bearer tokens: no edit of a valid token passes; an `Authorization` header passes only
//! with that very token in it; a token signed with the secret passes only with claims that
//! are valid now (docs/design.md#nobody-reads-what-isnt-theirs).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::Value;
use tidings_fuzz::{mutate, seeds};

#[test]
fn edited_tokens() {
    let (auth, token) = (seeds::authenticator(), seeds::user_token());
    bolero::check!(name = "edited_tokens").for_each(|edits: &[u8]| {
        let edited = String::from_utf8_lossy(&mutate(token.as_bytes(), edits)).into_owned();
        match auth.verify(&edited) {
            Ok(claims) => {
                assert_eq!(edited, token, "an edited token passed");
                assert_eq!(claims, seeds::user_claims());
            }
            Err(_) => assert_ne!(edited, token, "the valid token was refused"),
        }
    });
}

#[test]
fn edited_authorization_headers() {
    let (auth, token) = (seeds::authenticator(), seeds::user_token());
    let header = format!("Bearer {token}");
    bolero::check!(name = "edited_authorization_headers").for_each(|edits: &[u8]| {
        let edited = String::from_utf8_lossy(&mutate(header.as_bytes(), edits)).into_owned();
        if auth.verify_header(Some(&edited)).is_ok() {
            let presented = edited.strip_prefix("Bearer ").or_else(|| edited.strip_prefix("bearer ")).map(str::trim);
            assert_eq!(presented, Some(token.as_str()), "{edited:?} passed");
        }
    });
}

/// Edits of a valid claims object, signed with the right secret: what passes has every
/// claim a token needs, an expiry not yet past and a start (`nbf`) already reached, both
/// within the five seconds of leeway.
#[test]
fn edited_claims() {
    let auth = seeds::authenticator();
    let key = EncodingKey::from_secret(seeds::SECRET);
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let claims_json = seeds::user_claims_json();
    bolero::check!(name = "edited_claims").for_each(|edits: &[u8]| {
        let payload = mutate(claims_json.as_bytes(), edits);
        let message = format!("{header}.{}", URL_SAFE_NO_PAD.encode(&payload));
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256).expect("HS256 signs");
        let now = tidings_domain::time::now_s();
        let Ok(claims) = auth.verify(&format!("{message}.{signature}")) else { return };
        let json: Value = serde_json::from_slice(&payload).expect("accepted claims are JSON");
        let number = |name: &str| json.get(name).and_then(Value::as_i64);
        assert_eq!(number("exp"), Some(claims.exp));
        assert!(claims.exp >= now - 5, "expired at {} but passed at {now}", claims.exp);
        if let Some(nbf) = json.get("nbf") {
            let nbf = nbf.as_i64().unwrap_or_else(|| panic!("nbf {nbf} is not a time, yet the token passed"));
            assert!(nbf <= now + 6, "not before {nbf} but passed at {now}");
        }
        assert_eq!(json.get("role").and_then(Value::as_str), Some(claims.role.as_str()));
        assert_eq!(number("app_id"), Some(claims.app_id));
        assert_eq!(json.get("sub").and_then(Value::as_str), Some(claims.sub.as_str()));
        assert_eq!(json.get("guest").and_then(Value::as_bool).unwrap_or(false), claims.guest);
    });
}
