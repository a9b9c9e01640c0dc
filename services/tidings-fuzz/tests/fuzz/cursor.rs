//! The sync cursor: `decode` accepts exactly the strings `PATTERN` describes (the API
//! document publishes it) and `encode` writes, and every cursor the server can hand out
//! (non-negative positions) decodes to itself.

use regex::Regex;
use tidings_domain::sync::SyncCursor;

#[test]
fn cursor_text() {
    let pattern = Regex::new(SyncCursor::PATTERN).expect("PATTERN is a regular expression");
    bolero::check!(name = "cursor_text").for_each(|bytes: &[u8]| {
        // A cursor arrives as query-string text.
        let Ok(text) = std::str::from_utf8(bytes) else { return };
        match SyncCursor::decode(text) {
            Ok(cursor) => {
                assert!(pattern.is_match(text), "decoded {text:?}, which PATTERN refuses");
                if !text.is_empty() {
                    assert_eq!(cursor.encode(), text, "two texts decode to one cursor");
                }
            }
            Err(error) => {
                assert!(!pattern.is_match(text), "refused {text:?}, which PATTERN admits: {error}");
                assert_eq!(error.field, "cursor");
            }
        }
    });
}

#[test]
fn handed_out_cursors_decode_to_themselves() {
    bolero::check!(name = "handed_out_cursors_decode_to_themselves").with_type::<(i64, i64)>().for_each(
        |&(private_after, public_after)| {
            let cursor = SyncCursor { private_after, public_after };
            let decoded = SyncCursor::decode(&cursor.encode());
            if private_after >= 0 && public_after >= 0 {
                assert_eq!(decoded, Ok(cursor), "{}", cursor.encode());
            } else {
                // Never handed out (msg_ids and seqs are positive); must not decode to another.
                assert!(decoded.is_err(), "{} decoded to {decoded:?}", cursor.encode());
            }
        },
    );
}
