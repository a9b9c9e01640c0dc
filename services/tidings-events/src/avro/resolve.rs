//! Avro schema resolution, as the specification states it: a value decoded with the
//! writer's schema becomes a value of the reader's schema.
//!
//! apache-avro 0.21 resolves a union by trying the reader's branches in order and taking
//! the first one the *value* fits, ignoring the branch the writer chose. Record values that
//! carry extra fields fit a record with fewer fields, so a `Modified` change would come
//! back as `Created`. This resolver matches union branches by name, as the specification
//! does, walks records, arrays and maps itself, and leaves the conversion of primitives,
//! enums' defaults and logical types to apache-avro.

use std::collections::HashMap;

use apache_avro::Schema;
use apache_avro::schema::{EnumSchema, FixedSchema, RecordField, RecordSchema, SchemaKind};
use apache_avro::types::Value;

use super::names::Names;

/// Resolves values from one writer schema's named types to one reader schema's.
pub(crate) struct Resolver<'a> {
    writer_names: &'a Names,
    reader_names: &'a Names,
}

impl<'a> Resolver<'a> {
    pub(crate) fn new(writer_names: &'a Names, reader_names: &'a Names) -> Self {
        Self { writer_names, reader_names }
    }

    /// Turns `value`, decoded with `writer`, into a value of `reader`. The error names the
    /// path to the offending field.
    pub(crate) fn resolve(&self, value: Value, writer: &Schema, reader: &Schema) -> Result<Value, String> {
        let writer = self.writer_names.follow(writer)?;
        let reader = self.reader_names.follow(reader)?;
        match (writer, reader) {
            // The writer's branch is the one written; resolve it as if it stood alone.
            (Schema::Union(union), _) => {
                let Value::Union(index, inner) = value else {
                    return Err(format!("expected a union value, found {value:?}"));
                };
                let branch = usize::try_from(index)
                    .ok()
                    .and_then(|index| union.variants().get(index))
                    .ok_or_else(|| format!("union branch {index} out of range"))?;
                self.resolve(*inner, branch, reader)
            }
            (_, Schema::Union(union)) => {
                let (index, branch) = self.matching_branch(writer, union.variants())?;
                let index = u32::try_from(index).expect("a union has fewer than 2^32 branches");
                Ok(Value::Union(index, Box::new(self.resolve(value, writer, branch)?)))
            }
            (Schema::Record(writer_record), Schema::Record(reader_record)) => {
                if !self.same_name(writer, reader) {
                    return Err(format!(
                        "record {} cannot be read as record {}",
                        writer_record.name, reader_record.name
                    ));
                }
                self.resolve_record(value, writer_record, reader_record)
            }
            (Schema::Array(writer_array), Schema::Array(reader_array)) => match value {
                Value::Array(items) => items
                    .into_iter()
                    .map(|item| self.resolve(item, &writer_array.items, &reader_array.items))
                    .collect::<Result<_, _>>()
                    .map(Value::Array),
                other => Err(format!("expected an array, found {other:?}")),
            },
            (Schema::Map(writer_map), Schema::Map(reader_map)) => match value {
                Value::Map(entries) => entries
                    .into_iter()
                    .map(|(key, entry)| {
                        let entry = self.resolve(entry, &writer_map.types, &reader_map.types)?;
                        Ok((key, entry))
                    })
                    .collect::<Result<_, String>>()
                    .map(Value::Map),
                other => Err(format!("expected a map, found {other:?}")),
            },
            (Schema::Enum(_), Schema::Enum(EnumSchema { symbols, default, .. })) => {
                if !self.same_name(writer, reader) {
                    return Err(format!("enum {} cannot be read as {}", name_of(writer), name_of(reader)));
                }
                let Value::Enum(_, symbol) = value else {
                    return Err(format!("expected an enum symbol, found {value:?}"));
                };
                let symbol = if symbols.contains(&symbol) {
                    symbol
                } else {
                    default.clone().ok_or_else(|| {
                        format!("symbol {symbol:?} is not in enum {} and it has no default", name_of(reader))
                    })?
                };
                let index = symbols
                    .iter()
                    .position(|s| *s == symbol)
                    .ok_or_else(|| format!("default symbol {symbol:?} is not a symbol"))?;
                let index = u32::try_from(index).expect("fewer than 2^32 symbols");
                Ok(Value::Enum(index, symbol))
            }
            (Schema::Fixed(FixedSchema { size: w, .. }), Schema::Fixed(FixedSchema { size: r, .. }))
                if self.same_name(writer, reader) && w == r =>
            {
                Ok(value)
            }
            (writer, reader) if primitive_promotes(writer, reader) => {
                value.resolve(reader).map_err(|error| error.to_string())
            }
            (writer, reader) => Err(format!("{} cannot be read as {}", describe(writer), describe(reader))),
        }
    }

    fn resolve_record(&self, value: Value, writer: &RecordSchema, reader: &RecordSchema) -> Result<Value, String> {
        let Value::Record(written) = value else {
            return Err(format!("expected record {}, found {value:?}", writer.name));
        };
        let mut written: HashMap<String, Value> = written.into_iter().collect();
        let mut fields = Vec::with_capacity(reader.fields.len());
        for reader_field in &reader.fields {
            let in_path = |error: String| format!("{}.{}: {error}", reader.name.name, reader_field.name);
            let writer_field = writer.fields.iter().find(|writer_field| answers_to(reader_field, &writer_field.name));
            let field_value = match writer_field {
                Some(writer_field) => {
                    let written_value = written
                        .remove(&writer_field.name)
                        .ok_or_else(|| in_path("missing from the decoded value".to_owned()))?;
                    self.resolve(written_value, &writer_field.schema, &reader_field.schema).map_err(in_path)?
                }
                None => {
                    let default = reader_field.default.clone().ok_or_else(|| {
                        in_path("the writer has no such field and the reader gives no default".to_owned())
                    })?;
                    self.default_value(Value::from(default), &reader_field.schema).map_err(in_path)?
                }
            };
            fields.push((reader_field.name.clone(), field_value));
        }
        Ok(Value::Record(fields))
    }

    /// The reader branch a writer schema resolves to: the first of the same type (and name,
    /// for named types), else the first the writer's primitive promotes to.
    fn matching_branch<'s>(&self, writer: &Schema, branches: &'s [Schema]) -> Result<(usize, &'s Schema), String> {
        let exact = branches.iter().position(|branch| {
            self.reader_names.follow(branch).is_ok_and(|branch| {
                SchemaKind::from(writer) == SchemaKind::from(branch)
                    && (name_of(writer).is_empty() || self.same_name(writer, branch))
            })
        });
        let promoted = || {
            branches.iter().position(|branch| {
                self.reader_names.follow(branch).is_ok_and(|branch| primitive_promotes(writer, branch))
            })
        };
        exact
            .or_else(promoted)
            .map(|index| (index, &branches[index]))
            .ok_or_else(|| format!("no branch of the reader's union reads {}", describe(writer)))
    }

    /// Named types match by unqualified name or by one of the reader's aliases.
    fn same_name(&self, writer: &Schema, reader: &Schema) -> bool {
        let (Some(writer_name), Some(reader_name)) = (writer.name(), reader.name()) else {
            return false;
        };
        writer_name.name == reader_name.name
            || reader.aliases().is_some_and(|aliases| aliases.iter().any(|alias| alias.name() == writer_name.name))
    }

    /// A field default, given in the schema as JSON, as a value of the field's schema. For a
    /// union the default is of its first branch.
    fn default_value(&self, json: Value, schema: &Schema) -> Result<Value, String> {
        let schema = self.reader_names.follow(schema)?;
        match (schema, json) {
            (Schema::Union(union), json) => {
                let first = union.variants().first().ok_or_else(|| "empty union".to_owned())?;
                Ok(Value::Union(0, Box::new(self.default_value(json, first)?)))
            }
            (Schema::Record(record), Value::Map(mut entries)) => record
                .fields
                .iter()
                .map(|field| {
                    let json = entries
                        .remove(&field.name)
                        .or_else(|| field.default.clone().map(Value::from))
                        .ok_or_else(|| format!("default lacks field {}", field.name))?;
                    Ok((field.name.clone(), self.default_value(json, &field.schema)?))
                })
                .collect::<Result<_, String>>()
                .map(Value::Record),
            (Schema::Array(array), Value::Array(items)) => items
                .into_iter()
                .map(|item| self.default_value(item, &array.items))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            (Schema::Map(map), Value::Map(entries)) => entries
                .into_iter()
                .map(|(key, entry)| Ok((key, self.default_value(entry, &map.types)?)))
                .collect::<Result<_, String>>()
                .map(Value::Map),
            (Schema::Enum(EnumSchema { symbols, .. }), Value::String(symbol)) => symbols
                .iter()
                .position(|s| *s == symbol)
                .map(|index| Value::Enum(u32::try_from(index).expect("fewer than 2^32 symbols"), symbol.clone()))
                .ok_or_else(|| format!("default {symbol:?} is not a symbol")),
            // JSON gives bytes as a string of code points 0-255.
            (Schema::Bytes | Schema::Fixed(_), Value::String(text)) => {
                let bytes = text
                    .chars()
                    .map(|c| u8::try_from(c).map_err(|_| format!("default byte {c:?} is above 255")))
                    .collect::<Result<Vec<u8>, _>>()?;
                match schema {
                    Schema::Fixed(FixedSchema { size, .. }) => Ok(Value::Fixed(*size, bytes)),
                    _ => Ok(Value::Bytes(bytes)),
                }
            }
            (schema, json) => json.resolve(schema).map_err(|error| error.to_string()),
        }
    }
}

fn answers_to(reader_field: &RecordField, writer_field_name: &str) -> bool {
    reader_field.name == writer_field_name
        || reader_field.aliases.as_ref().is_some_and(|aliases| aliases.iter().any(|alias| alias == writer_field_name))
}

/// Whether a value of the primitive (or logical) type `writer` reads as `reader`: the same
/// type, or one of the specification's promotions.
fn primitive_promotes(writer: &Schema, reader: &Schema) -> bool {
    use SchemaKind::*;
    let (writer, reader) = (SchemaKind::from(writer), SchemaKind::from(reader));
    let complex = [Record, Enum, Fixed, Array, Map, Union, Ref];
    if complex.contains(&writer) || complex.contains(&reader) {
        return false;
    }
    writer == reader
        || matches!(
            (writer, reader),
            (Int, Long | Float | Double) | (Long, Float | Double) | (Float, Double) | (String, Bytes) | (Bytes, String)
        )
}

fn name_of(schema: &Schema) -> String {
    schema.name().map(|name| name.name.clone()).unwrap_or_default()
}

fn describe(schema: &Schema) -> String {
    match schema.name() {
        Some(name) => format!("{:?} {}", SchemaKind::from(schema), name.name),
        None => format!("{:?}", SchemaKind::from(schema)),
    }
    .to_lowercase()
}
