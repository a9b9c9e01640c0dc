//! Sample values of any schema, together taking every union branch and enum symbol: data
//! written with one schema version directly, not through a domain mapping.

use std::collections::HashMap;

use apache_avro::Schema;
use apache_avro::schema::{Name, ResolvedSchema};
use apache_avro::types::Value;

/// Values of `schema` that, together, take every branch of every union (of up to 16
/// branches) and every enum symbol: sample `k` takes branch `k mod n` of each union.
pub(super) fn samples(schema: &Schema) -> Vec<Value> {
    let resolved = ResolvedSchema::try_from(schema).expect("a parsed schema resolves");
    let names = resolved.get_names();
    (0..16).map(|k| sample(schema, names, k)).collect()
}

fn sample(schema: &Schema, names: &HashMap<Name, &Schema>, k: usize) -> Value {
    let small = i32::try_from(k).expect("k < 16");
    match schema {
        Schema::Ref { name } => sample(names[name], names, k),
        Schema::Null => Value::Null,
        Schema::Boolean => Value::Boolean(k % 2 == 1),
        Schema::Int => Value::Int(small * 1_000 - 3),
        Schema::Long => Value::Long(i64::from(small) * 1_000_000_007 - 5),
        Schema::Float => Value::Float(0.5),
        Schema::Double => Value::Double(0.25),
        Schema::Bytes => Value::Bytes(vec![0, 0xff, small as u8]),
        Schema::String => Value::String(format!("sample {k} ✓")),
        Schema::Record(record) => Value::Record(
            record.fields.iter().map(|field| (field.name.clone(), sample(&field.schema, names, k))).collect(),
        ),
        Schema::Enum(enumeration) => {
            let index = k % enumeration.symbols.len();
            Value::Enum(index as u32, enumeration.symbols[index].clone())
        }
        Schema::Array(array) => Value::Array((0..k % 3).map(|j| sample(&array.items, names, k + j)).collect()),
        Schema::Map(map) => {
            Value::Map((0..k % 3).map(|j| (format!("key {j}"), sample(&map.types, names, k + j))).collect())
        }
        Schema::Union(union) => {
            let index = k % union.variants().len();
            Value::Union(index as u32, Box::new(sample(&union.variants()[index], names, k)))
        }
        Schema::Fixed(fixed) => Value::Fixed(fixed.size, vec![small as u8; fixed.size]),
        other => panic!("no sample for {other:?}; extend tests::samples::sample"),
    }
}
