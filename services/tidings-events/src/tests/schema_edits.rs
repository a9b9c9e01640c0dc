//! Edited copies of shipped schemas: how a test makes a "next version" of a family.

/// A shipped schema with `edit` applied to its JSON: how a test makes a "next version".
pub(super) fn next_version(shipped: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut json: serde_json::Value = serde_json::from_str(shipped).expect("shipped schema is json");
    edit(&mut json);
    json.to_string()
}

/// The JSON object defining the named type `name` (a record, enum or fixed), wherever it
/// sits in the schema.
pub(super) fn named_type<'a>(json: &'a mut serde_json::Value, name: &str) -> Option<&'a mut serde_json::Value> {
    let defines_it = json.get("name").and_then(|n| n.as_str()) == Some(name)
        && json.get("type").and_then(|t| t.as_str()).is_some_and(|t| ["record", "enum", "fixed"].contains(&t));
    if defines_it {
        return Some(json);
    }
    match json {
        serde_json::Value::Array(items) => items.iter_mut().find_map(|item| named_type(item, name)),
        serde_json::Value::Object(map) => map.values_mut().find_map(|value| named_type(value, name)),
        _ => None,
    }
}
