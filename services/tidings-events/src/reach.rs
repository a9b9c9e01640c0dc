//! [`ReachEvent`] ⇄ `schemas/avro/reach_event`. The sketches stay bytes here: the projector
//! reads them (`tidings_reach::ReachSketch::from_bytes`) and dead-letters bad ones.

use apache_avro::types::Value;
use tidings_domain::client::Platform;
use tidings_reach::{ReachCell, ReachEvent, ReachKind, ReachPlatform};

use crate::avro::value::{Fields, record};

/// The symbols of `ReachKind`, in schema order (only appended; a test checks them).
pub(crate) const KINDS: [(ReachKind, &str); 2] = [(ReachKind::Delivered, "delivered"), (ReachKind::Read, "read")];

/// The symbols of `ReachPlatform`, in schema order (only appended; a test checks them).
pub(crate) const PLATFORMS: [(ReachPlatform, &str); 7] = [
    (ReachPlatform(None), "unknown"),
    (ReachPlatform(Some(Platform::Ios)), "ios"),
    (ReachPlatform(Some(Platform::Android)), "android"),
    (ReachPlatform(Some(Platform::Win)), "win"),
    (ReachPlatform(Some(Platform::Mac)), "mac"),
    (ReachPlatform(Some(Platform::Linux)), "linux"),
    (ReachPlatform(Some(Platform::Web)), "web"),
];

fn symbol<T: PartialEq>(table: &[(T, &'static str)], value: &T) -> Value {
    let index = table.iter().position(|(candidate, _)| candidate == value).expect("every value has a symbol");
    Value::Enum(index as u32, table[index].1.to_owned())
}

fn from_symbol<T: Copy>(table: &[(T, &'static str)], symbol: &str, what: &str) -> Result<T, String> {
    table
        .iter()
        .find(|(_, name)| *name == symbol)
        .map(|(value, _)| *value)
        .ok_or_else(|| format!("unknown {what} {symbol:?}"))
}

pub(crate) fn to_value(event: &ReachEvent) -> Value {
    let cells = event
        .cells
        .iter()
        .map(|cell| {
            record([
                ("kind", symbol(&KINDS, &cell.kind)),
                ("platform", symbol(&PLATFORMS, &cell.platform)),
                ("hour", Value::Long(cell.hour)),
                ("sketch", Value::Bytes(cell.sketch.clone())),
            ])
        })
        .collect();
    record([
        ("app_id", Value::Long(event.app_id)),
        ("broadcast_id", Value::Long(event.broadcast_id)),
        ("cells", Value::Array(cells)),
    ])
}

pub(crate) fn from_value(value: Value) -> Result<ReachEvent, String> {
    let mut fields = Fields::of("ReachEvent", value)?;
    let cells = fields
        .array("cells")?
        .into_iter()
        .map(|cell| {
            let mut cell = Fields::of("ReachCell", cell)?;
            Ok(ReachCell {
                kind: from_symbol(&KINDS, &cell.symbol("kind")?, "ReachKind")?,
                platform: from_symbol(&PLATFORMS, &cell.symbol("platform")?, "ReachPlatform")?,
                hour: cell.long("hour")?,
                sketch: cell.bytes("sketch")?,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(ReachEvent { app_id: fields.long("app_id")?, broadcast_id: fields.long("broadcast_id")?, cells })
}
