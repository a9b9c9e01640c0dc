//! Extractors that turn bad input into errors naming the field.

use axum::body::Bytes;
use axum::extract::FromRef;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use tidings_domain::client::{ClientVersion, Viewer};
use tidings_domain::message::Mailbox;

use crate::auth::{Authenticator, Claims};
use crate::error::ApiError;

/// The largest request body read (axum's own limit, set explicitly by [`crate::api_router`]):
/// the largest batch send is a few hundred kilobytes.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// A JSON body; a malformed body or a bad field is answered with the field's path, a body
/// above [`MAX_BODY_BYTES`] with 413.
#[derive(Debug)]
pub struct ValidJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ValidJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(ApiError::field("body", "expected Content-Type: application/json"));
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large(format!("the body is above {MAX_BODY_BYTES} bytes")),
            _ => ApiError::field("body", rejection.body_text()),
        })?;
        parse_json_body(&bytes).map(ValidJson)
    }
}

/// A request body as `T`, or a 400 naming the field at fault (`body` when it is not one JSON
/// object).
pub fn parse_json_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde also reads a struct from an array, field by field in order; the contract's
    // bodies are objects (the fuzzer's `[1` was blamed on a field "[0]").
    if bytes.trim_ascii_start().first() != Some(&b'{') {
        return Err(ApiError::field("body", "expected a JSON object"));
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    let body = serde_path_to_error::deserialize(&mut *deserializer).map_err(|error| {
        // A body that is not JSON at all is the body's fault, wherever the parser stopped.
        let malformed = error.inner().is_syntax() || error.inner().is_eof();
        let field = if malformed { "body".to_owned() } else { blamed_field(&error) };
        ApiError::field(field, error.inner().to_string())
    })?;
    // One document, as axum's own `Json` insists: bytes after it (`{...}garbage`) were taken.
    deserializer.end().map_err(|error| ApiError::field("body", error.to_string()))?;
    Ok(body)
}

/// The field a failed deserialization blames: the error's path, or for a missing field
/// (reported at the parent) the missing field's own name.
pub fn blamed_field(error: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let path = error.path().to_string();
    let message = error.inner().to_string();
    let missing = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next());
    match (path.as_str(), missing) {
        (".", Some(name)) => name.to_owned(),
        (_, Some(name)) => format!("{path}.{name}"),
        (".", None) => "body".to_owned(),
        (_, None) => path,
    }
}

/// The verified claims of the caller.
#[derive(Debug)]
pub struct Caller(pub Claims);

impl<S: Send + Sync> FromRequestParts<S> for Caller
where
    Authenticator: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        Ok(Caller(Authenticator::from_ref(state).verify_header(header)?))
    }
}

/// A user pulling their own mailbox, with their client's version facts.
#[derive(Debug)]
pub struct MailboxOwner {
    pub mailbox: Mailbox,
    pub viewer: Viewer,
}

impl<S: Send + Sync> FromRequestParts<S> for MailboxOwner
where
    Authenticator: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Caller(claims) = Caller::from_request_parts(parts, state).await?;
        let mailbox = claims.mailbox()?;
        // An identity header that is there but not text is bad input, not an absent one.
        let header = |name: &'static str| {
            let value = parts.headers.get(name).map(|value| value.to_str());
            value.transpose().map_err(|_| ApiError::field(name, format!("{name}: is not visible ASCII text")))
        };
        let from_headers =
            ClientVersion::from_parts(header("platform")?, header("app_version")?, header("core_level")?)
                .map_err(|e| ApiError::field(e.field(), e.to_string()))?;
        let user_agent = parts.headers.get(USER_AGENT).and_then(|v| v.to_str().ok());
        let from_agent = ClientVersion::from_user_agent(user_agent.unwrap_or_default())
            .map_err(|e| ApiError::field(format!("user-agent {}", e.field()), e.to_string()))?;
        let viewer = Viewer { uid: mailbox.uid, guest: claims.guest, version: from_headers.or_else(from_agent) };
        Ok(MailboxOwner { mailbox, viewer })
    }
}

/// Path parameters; a malformed one is answered with its name.
#[derive(Debug)]
pub struct ValidPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ValidPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ValidPath(value))
            .map_err(|rejection: PathRejection| ApiError::field("path", rejection.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bodies::WhitelistBody;

    fn blamed(body: &str) -> Option<String> {
        parse_json_body::<WhitelistBody>(body.as_bytes()).err().and_then(|error| error.detail().field.clone())
    }

    /// Inputs of the fuzz target `json_bodies` (tidings-fuzz) that were accepted or blamed
    /// on a field that is not one.
    #[test]
    fn a_body_is_one_json_object() {
        assert_eq!(parse_json_body::<WhitelistBody>(br#" {"uids": [1]} "#).unwrap(), WhitelistBody { uids: vec![1] });
        assert_eq!(blamed(r#"[[1]]"#).as_deref(), Some("body"), "positional fields");
        assert_eq!(blamed(r#"[1"#).as_deref(), Some("body"), "was blamed on \"[0]\"");
        assert_eq!(blamed(r#"{"uids": [1]}x"#).as_deref(), Some("body"), "trailing bytes");
        assert_eq!(blamed(r#"{"uids": [1, "x"]}"#).as_deref(), Some("uids[1]"));
        assert_eq!(blamed(r#"{}"#).as_deref(), Some("uids"));
    }
}
