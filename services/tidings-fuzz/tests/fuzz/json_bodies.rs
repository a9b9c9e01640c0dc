//! The JSON bodies of the HTTP API: any bytes parse as a body, or fail with a 400 that names
//! the field at fault: `body` when the bytes are not one JSON document, else a field of the
//! body's schema, or the unknown field the body has
//! (docs/design.md#bad-input-changes-nothing).

use serde::de::DeserializeOwned;
use serde_json::Value;
use tidings_http::bodies::{BroadcastDraftRequest, BroadcastPatchRequest, ReadRequest, SendRequest, WhitelistBody};
use tidings_http::extract::parse_json_body;
use utoipa::PartialSchema;
use utoipa::openapi::{RefOr, Schema};

#[test]
fn json_bodies() {
    bolero::check!(name = "json_bodies").for_each(|bytes: &[u8]| {
        check::<SendRequest>(bytes);
        check::<BroadcastDraftRequest>(bytes);
        check::<BroadcastPatchRequest>(bytes);
        check::<WhitelistBody>(bytes);
        check::<ReadRequest>(bytes);
    });
}

fn check<T: DeserializeOwned + PartialSchema>(bytes: &[u8]) {
    let document = serde_json::from_slice::<Value>(bytes);
    let error = match parse_json_body::<T>(bytes) {
        Ok(_) => return assert!(document.is_ok(), "accepted a body that is not one JSON document"),
        Err(error) => error,
    };
    let detail = error.detail();
    assert_eq!((error.status().as_u16(), detail.code), (400, "invalid_field"), "{}", detail.message);
    let field = detail.field.as_deref().expect("a 400 names its field");
    if field == "body" {
        return;
    }
    let top = field.split(['.', '[']).next().unwrap_or_default();
    let known = properties::<T>().iter().any(|name| name == top);
    let theirs = document.ok().and_then(|document| document.get(top).cloned()).is_some();
    assert!(known || theirs, "{field:?} is neither a field of the body nor one it has: {}", detail.message);
}

/// The top-level fields of a body's schema.
fn properties<T: PartialSchema>() -> Vec<String> {
    let RefOr::T(Schema::Object(object)) = T::schema() else { panic!("a body's schema is an object") };
    object.properties.keys().cloned().collect()
}
