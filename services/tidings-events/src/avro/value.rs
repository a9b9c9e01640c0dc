//! Small helpers the mapping modules share to build and read apache-avro values.
//!
//! Decoding always hands the mappings a value of the *current* schema (older writers are
//! resolved first), so a mismatch here is a bug in this crate, reported as a reason string
//! that becomes [`crate::DecodeError::Shape`].

use apache_avro::types::Value;

pub(crate) fn record<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Record(fields.into_iter().map(|(name, value)| (name.to_owned(), value)).collect())
}

pub(crate) fn union(branch: u32, value: Value) -> Value {
    Value::Union(branch, Box::new(value))
}

/// `["null", "long"]`: null is branch 0.
pub(crate) fn optional_long(value: Option<i64>) -> Value {
    match value {
        None => union(0, Value::Null),
        Some(value) => union(1, Value::Long(value)),
    }
}

/// The branch index and value of a union.
fn branch(value: Value, what: &str) -> Result<(u32, Value), String> {
    match value {
        Value::Union(index, inner) => Ok((index, *inner)),
        other => Err(format!("{what}: expected a union, found {other:?}")),
    }
}

/// One accessor per single-valued variant: takes the field and unwraps that variant, or
/// says what was found instead.
macro_rules! accessors {
    ($($method:ident -> $type:ty: $variant:ident, $expected:literal;)*) => {$(
        pub(crate) fn $method(&mut self, name: &str) -> Result<$type, String> {
            match self.take(name)? {
                Value::$variant(value) => Ok(value),
                other => Err(self.mismatch(name, $expected, &other)),
            }
        }
    )*};
}

/// A decoded record, taken apart field by field by name.
pub(crate) struct Fields {
    record: &'static str,
    fields: Vec<(String, Value)>,
}

impl Fields {
    pub(crate) fn of(record: &'static str, value: Value) -> Result<Self, String> {
        match value {
            Value::Record(fields) => Ok(Self { record, fields }),
            other => Err(format!("{record}: expected a record, found {other:?}")),
        }
    }

    fn take(&mut self, name: &str) -> Result<Value, String> {
        let position = self
            .fields
            .iter()
            .position(|(field, _)| field == name)
            .ok_or_else(|| format!("{}: no field {name}", self.record))?;
        Ok(self.fields.swap_remove(position).1)
    }

    fn mismatch(&self, name: &str, expected: &str, found: &Value) -> String {
        format!("{}.{name}: expected {expected}, found {found:?}", self.record)
    }

    accessors! {
        long -> i64: Long, "a long";
        int -> i32: Int, "an int";
        boolean -> bool: Boolean, "a boolean";
        string -> String: String, "a string";
        bytes -> Vec<u8>: Bytes, "bytes";
        array -> Vec<Value>: Array, "an array";
    }

    /// An `{"type": "array", "items": "long"}` field.
    pub(crate) fn longs(&mut self, name: &str) -> Result<Vec<i64>, String> {
        self.array(name)?
            .into_iter()
            .map(|item| match item {
                Value::Long(value) => Ok(value),
                other => Err(self.mismatch(name, "longs", &other)),
            })
            .collect()
    }

    pub(crate) fn optional_long(&mut self, name: &str) -> Result<Option<i64>, String> {
        match branch(self.take(name)?, name)? {
            (_, Value::Null) => Ok(None),
            (_, Value::Long(value)) => Ok(Some(value)),
            (_, other) => Err(self.mismatch(name, "null or a long", &other)),
        }
    }

    /// A `["null", record]` field: `None`, or the record taken apart.
    pub(crate) fn optional_record(&mut self, name: &str, record: &'static str) -> Result<Option<Fields>, String> {
        match branch(self.take(name)?, name)? {
            (_, Value::Null) => Ok(None),
            (_, value) => Fields::of(record, value).map(Some),
        }
    }

    /// An enum field's symbol.
    pub(crate) fn symbol(&mut self, name: &str) -> Result<String, String> {
        match self.take(name)? {
            Value::Enum(_, symbol) => Ok(symbol),
            other => Err(self.mismatch(name, "an enum symbol", &other)),
        }
    }

    /// A nested record field, itself taken apart by name.
    pub(crate) fn record(&mut self, name: &str, record: &'static str) -> Result<Fields, String> {
        Fields::of(record, self.take(name)?)
    }

    /// A union field whose branches are records named `branches`, in schema order: the
    /// branch index and the branch's record, taken apart.
    pub(crate) fn record_union(&mut self, name: &str, branches: &[&'static str]) -> Result<(u32, Fields), String> {
        let (index, value) = branch(self.take(name)?, &format!("{}.{name}", self.record))?;
        let record = branches
            .get(index as usize)
            .copied()
            .ok_or_else(|| format!("{}.{name}: no branch {index}", self.record))?;
        Ok((index, Fields::of(record, value)?))
    }
}
