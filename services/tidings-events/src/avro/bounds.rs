//! A pass over a datum before apache-avro decodes it: checks that the bytes are exactly one
//! value of the writer schema and that no length or block count claims more bytes than are
//! left.
//!
//! apache-avro trusts those numbers up to 512 MiB: it reserves room for a claimed array
//! count before reading a single item, so fourteen corrupt bytes could make it reserve
//! gigabytes and abort the process. Events may come from business servers, so a consumer
//! must survive anything (docs/design.md#bad-input-changes-nothing). The pass also turns apache-avro's leniency at the
//! end of input (a cut-off string reads as null) into an error naming the byte offset.

use apache_avro::Schema;
use apache_avro::schema::DecimalSchema;

use super::names::Names;

/// Checks that `datum` starts with one value of `schema`; returns the value's length.
pub(crate) fn checked_length(datum: &[u8], schema: &Schema, names: &Names) -> Result<usize, String> {
    let mut cursor = Cursor { datum, position: 0, names };
    cursor.skip_value(schema)?;
    Ok(cursor.position)
}

/// A position in a datum, moved forward value by value without decoding any.
struct Cursor<'a> {
    datum: &'a [u8],
    position: usize,
    names: &'a Names,
}

impl Cursor<'_> {
    fn left(&self) -> usize {
        self.datum.len() - self.position
    }

    fn skip(&mut self, count: usize, what: &str) -> Result<(), String> {
        if count > self.left() {
            return Err(format!(
                "{what} of {count} bytes at byte {} runs past the end ({} bytes left)",
                self.position,
                self.left()
            ));
        }
        self.position += count;
        Ok(())
    }

    /// A zig-zag varint, as Avro writes ints, longs, lengths, counts and indexes.
    fn varint(&mut self) -> Result<i64, String> {
        let start = self.position;
        let mut raw: u64 = 0;
        for shift in (0..70).step_by(7) {
            let Some(&byte) = self.datum.get(self.position) else {
                return Err(format!("number at byte {start} runs past the end"));
            };
            self.position += 1;
            if shift == 63 && byte > 1 {
                break;
            }
            raw |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64));
            }
        }
        Err(format!("number at byte {start} is longer than 64 bits"))
    }

    /// A length or count that must fit in what is left of the datum.
    fn length(&mut self, what: &str) -> Result<usize, String> {
        let start = self.position;
        let length = self.varint()?;
        usize::try_from(length)
            .ok()
            .filter(|length| *length <= self.left())
            .ok_or_else(|| format!("{what} {length} at byte {start} exceeds the {} bytes left", self.left()))
    }

    fn skip_value(&mut self, schema: &Schema) -> Result<(), String> {
        match schema {
            Schema::Ref { .. } => self.skip_value(self.names.follow(schema)?),
            Schema::Null => Ok(()),
            Schema::Boolean => self.skip(1, "boolean"),
            Schema::Int
            | Schema::Long
            | Schema::Date
            | Schema::TimeMillis
            | Schema::TimeMicros
            | Schema::TimestampMillis
            | Schema::TimestampMicros
            | Schema::TimestampNanos
            | Schema::LocalTimestampMillis
            | Schema::LocalTimestampMicros
            | Schema::LocalTimestampNanos
            | Schema::Enum(_) => self.varint().map(drop),
            Schema::Float => self.skip(4, "float"),
            Schema::Double => self.skip(8, "double"),
            Schema::Bytes | Schema::String | Schema::Uuid | Schema::BigDecimal => {
                let length = self.length("length")?;
                self.skip(length, "string or bytes")
            }
            Schema::Fixed(fixed) => self.skip(fixed.size, "fixed"),
            Schema::Duration => self.skip(12, "duration"),
            Schema::Decimal(DecimalSchema { inner, .. }) => self.skip_value(inner),
            Schema::Record(record) => record.fields.iter().try_for_each(|field| self.skip_value(&field.schema)),
            Schema::Union(union) => {
                let start = self.position;
                let index = self.varint()?;
                let branch = usize::try_from(index)
                    .ok()
                    .and_then(|index| union.variants().get(index))
                    .ok_or_else(|| format!("union branch {index} at byte {start} is not in the schema"))?;
                self.skip_value(branch)
            }
            Schema::Array(array) => {
                let bounded = !self.may_be_empty(&array.items);
                self.skip_blocks(bounded, |cursor| cursor.skip_value(&array.items))
            }
            Schema::Map(map) => self.skip_blocks(true, |cursor| {
                let length = cursor.length("key length")?;
                cursor.skip(length, "map key")?;
                cursor.skip_value(&map.types)
            }),
        }
    }

    /// Whether a value of `schema` can take no bytes at all (null, or a record of such).
    fn may_be_empty(&self, schema: &Schema) -> bool {
        match schema {
            Schema::Ref { .. } => self.names.follow(schema).is_ok_and(|schema| self.may_be_empty(schema)),
            Schema::Null => true,
            Schema::Record(record) => record.fields.iter().all(|field| self.may_be_empty(&field.schema)),
            _ => false,
        }
    }

    /// Array or map blocks: a count (negative: followed by the block's size in bytes), the
    /// items, and a zero count at the end. When every item takes at least one byte (map
    /// entries always do), a count can never exceed the bytes left. Arrays of empty items
    /// (none in the shipped schemas) are left to apache-avro's own 512 MiB limit.
    fn skip_blocks(
        &mut self,
        bounded: bool,
        mut item: impl FnMut(&mut Self) -> Result<(), String>,
    ) -> Result<(), String> {
        loop {
            let start = self.position;
            let count = self.varint()?;
            if count == 0 {
                return Ok(());
            }
            if count < 0 {
                self.varint()?;
            }
            let count = usize::try_from(count.unsigned_abs())
                .ok()
                .filter(|count| !bounded || *count <= self.left())
                .ok_or_else(|| format!("block count {count} at byte {start} exceeds the {} bytes left", self.left()))?;
            for _ in 0..count {
                item(self)?;
            }
        }
    }
}
