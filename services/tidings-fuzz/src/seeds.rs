//! The valid inputs each target starts from, most made by Tidings' own encoders, and the edge
//! cases worth a seed of their own. They are the committed seed corpus (the `seed-*` files,
//! which `tests/fuzz/corpus.rs` keeps equal to [`corpus`]) and the originals the targets'
//! edits apply to.

use tidings_domain::sync::SyncCursor;
use tidings_http::{Authenticator, CallerRole, Claims};

/// The secret the token targets sign and verify with.
pub const SECRET: &[u8] = b"tidings-fuzz-secret";

/// 2100-01-01T00:00:00Z, so the seed tokens stay valid.
const FAR_EXPIRY_S: i64 = 4_102_444_800;

/// The named inputs of every byte-string target, by the target's name.
pub type Corpus = Vec<(&'static str, Vec<(String, Vec<u8>)>)>;

pub fn authenticator() -> Authenticator {
    Authenticator::new(SECRET)
}

/// The claims of [`user_token`].
pub fn user_claims() -> Claims {
    Claims { role: CallerRole::User, app_id: 7, sub: "42".into(), exp: FAR_EXPIRY_S, guest: false }
}

/// A user token valid until 2100, the one the token targets edit.
pub fn user_token() -> String {
    authenticator().mint(&user_claims())
}

/// The claims of [`user_token`] as JSON text, the one the claims target edits.
pub fn user_claims_json() -> String {
    format!(r#"{{"role":"user","app_id":7,"sub":"42","exp":{FAR_EXPIRY_S}}}"#)
}

/// The Avro codec's pinned examples (`golden_bytes.txt` of tidings-events: every variant of
/// every family, of every version), as `(family, single-object bytes)`.
pub fn events() -> Vec<(&'static str, Vec<u8>)> {
    include_str!("../../tidings-events/src/tests/golden_bytes.txt")
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| {
            let fields: Vec<&'static str> = line.split(' ').collect();
            let [label, _index, hex] = fields[..] else { panic!("a golden line is `<family> <index> <hex>`: {line}") };
            // Lines of a version other than the first say which (`broadcast_event_v2`).
            let family = match label.rsplit_once("_v") {
                Some((family, version)) if version.parse::<u32>().is_ok() => family,
                _ => label,
            };
            (family, from_hex(hex))
        })
        .collect()
}

/// Reach sketches as a pull worker writes them: empty, sparse and dense.
pub fn reach_sketches() -> Vec<(String, Vec<u8>)> {
    [("empty", 0), ("sparse", 40), ("dense", 30_000)]
        .into_iter()
        .map(|(name, users)| {
            let mut sketch = tidings_reach::ReachSketch::new();
            (1..=users).for_each(|uid| sketch.insert_uid(uid));
            (name.to_owned(), sketch.to_bytes())
        })
        .collect()
}

fn from_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&hex[at..at + 2], 16).expect("golden bytes are hex"))
        .collect()
}

/// An Avro long: zig-zag, then a little-endian base-128 varint.
fn zigzag(value: i64) -> Vec<u8> {
    let mut rest = ((value << 1) ^ (value >> 63)) as u64;
    let mut bytes = Vec::new();
    while rest >= 0x80 {
        bytes.push((rest as u8) | 0x80);
        rest >>= 7;
    }
    bytes.push(rest as u8);
    bytes
}

/// Edits that leave the original as it is, and one that changes a byte: the seeds of the
/// targets whose input is an edit list ([`crate::mutate`]).
fn edit_seeds() -> Vec<(String, Vec<u8>)> {
    vec![("no-edit".into(), vec![]), ("one-byte-replaced".into(), vec![0, 20, b'A'])]
}

/// Every target's seeds. Inputs are named so that a changed seed shows in a diff.
pub fn corpus() -> Corpus {
    let text = |seeds: &[(&str, &str)]| -> Vec<(String, Vec<u8>)> {
        seeds.iter().map(|(name, text)| (name.to_string(), text.as_bytes().to_vec())).collect()
    };
    let token = user_token();
    let events: Vec<(String, Vec<u8>)> =
        events().into_iter().enumerate().map(|(index, (family, bytes))| (format!("{family}-{index}"), bytes)).collect();
    let cursor = |private_after, public_after| SyncCursor { private_after, public_after }.encode();
    vec![
        ("events", events.clone()),
        ("reach_sketch_bytes", reach_sketches()),
        // The memory target reads its input as a datum behind each family's header.
        ("datum_allocation", {
            let mut datums: Vec<(String, Vec<u8>)> =
                events.into_iter().map(|(name, bytes)| (name, bytes[10..].to_vec())).collect();
            // A whitelist replacement (app 1, at 1, revision 1) claiming 2^28 + 5 uids, and
            // a dead letter whose topic claims 2^31 - 1 bytes.
            datums.push(("huge-block-count".into(), [&[2, 2, 6, 2][..], &zigzag((1 << 28) + 5)].concat()));
            datums.push(("huge-string-length".into(), zigzag((1 << 31) - 1)));
            datums
        }),
        (
            "cursor_text",
            text(&[
                ("empty", ""),
                ("start", &cursor(0, 0)),
                ("typical", &cursor(1_700_000_000_000_001, 42)),
                ("largest", &cursor(i64::MAX, i64::MAX)),
                ("leading-zero", "c1.05.1"),
                ("too-many-parts", "c1.1.2.3"),
            ]),
        ),
        (
            "user_agent_text",
            text(&[
                ("tokens-among-others", "Mozilla/5.0 platform/ios app_version/8.0.25 core_level/220819 (iPhone)"),
                ("upper-case", "PLATFORM/Android Core_Level/-7"),
                ("none", "curl/8.0"),
                ("blank-values", "platform/ app_version/ core_level/"),
                ("unknown-platform", "platform/symbian"),
                ("core-level-overflow", "core_level/99999999999999999999"),
            ]),
        ),
        ("edited_tokens", edit_seeds()),
        ("edited_authorization_headers", edit_seeds()),
        ("edited_claims", edit_seeds()),
        (
            "json_bodies",
            text(&[
                (
                    "send",
                    r#"{"mode":"unicast","from_uid":7,"to_uids":[42],"content":"hello 42","contacter":7,"category":1,"type":2,"priority":3,"business_type":4,"msgkey":"k1","expire_s":60}"#,
                ),
                (
                    "broadcast-draft",
                    r#"{"content":"hello everyone","expire_at":4102444800,"category":1,"type":2,"priority":3,"business_type":4,"audience":{"platforms":["ios","web"],"min_core_level":1,"max_core_level":9,"logged_in_only":true}}"#,
                ),
                ("broadcast-patch", r#"{"content":"hello again","expire_at":4102444800}"#),
                ("whitelist", r#"{"uids":[1,2,3]}"#),
                ("read", r#"{"up_to":5}"#),
            ]),
        ),
        (
            "gateway_frames",
            text(&[
                (
                    "login",
                    &format!(
                        r#"{{"type":"login","token":"{token}","platform":"ios","app_version":"8.0.25","core_level":220819}}"#
                    ),
                ),
                ("ping", r#"{"type":"ping"}"#),
                ("pong", r#"{"type":"pong"}"#),
                ("sync", r#"{"type":"sync","id":1,"cursor":"c1.0.0","limit":50}"#),
                (
                    "send",
                    r#"{"type":"send","id":"a","to_uid":43,"content":"hi","msgkey":"m1","category":1,"message_type":2,"priority":3,"business_type":4,"expire_s":60}"#,
                ),
            ]),
        ),
    ]
}
