//! Gateway frames: any text is a frame, a fatal error (the socket closes with 4400) when it
//! is not JSON, or an `error` answer that carries the frame's `id` and names a field the
//! frame has or a frame may have.

use serde_json::Value;
use tidings_gateway::frames::ClientFrame;

/// Every field of every client frame.
const FIELDS: [&str; 16] = [
    "type",
    "id",
    "token",
    "platform",
    "app_version",
    "core_level",
    "cursor",
    "limit",
    "to_uid",
    "content",
    "msgkey",
    "category",
    "message_type",
    "priority",
    "business_type",
    "expire_s",
];

#[test]
fn gateway_frames() {
    bolero::check!(name = "gateway_frames").for_each(|bytes: &[u8]| {
        // A WebSocket text frame is UTF-8.
        let Ok(text) = std::str::from_utf8(bytes) else { return };
        let Err(bad) = ClientFrame::parse(text) else { return };
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            return assert!(bad.fatal, "{text:?} is not JSON, yet the connection would survive it");
        };
        assert!(!bad.fatal, "{text:?} is JSON, yet closes the connection: {}", bad.message);
        assert_eq!(bad.id, value.get("id").cloned(), "the answer must carry the frame's id");
        let field = bad.field.unwrap_or_else(|| panic!("{text:?}: no field named in {:?}", bad.message));
        let its_own = value.get(&field).is_some();
        assert!(FIELDS.contains(&field.as_str()) || its_own, "{text:?}: {field:?} from {:?}", bad.message);
    });
}
