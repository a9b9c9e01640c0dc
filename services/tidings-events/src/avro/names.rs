//! The named types a schema defines, which references (`Schema::Ref`) point to.

use std::collections::HashMap;

use apache_avro::Schema;
use apache_avro::schema::{Name, ResolvedSchema};

/// The named types a schema defines, by full name, so references can be followed.
pub(crate) struct Names(HashMap<Name, Schema>);

impl Names {
    pub(crate) fn of(schema: &Schema) -> Result<Self, apache_avro::Error> {
        let resolved = ResolvedSchema::try_from(schema)?;
        Ok(Self(resolved.get_names().iter().map(|(name, schema)| (name.clone(), (*schema).clone())).collect()))
    }

    /// The schema itself, or the named type it refers to.
    pub(crate) fn follow<'a>(&'a self, schema: &'a Schema) -> Result<&'a Schema, String> {
        match schema {
            Schema::Ref { name } => self.0.get(name).ok_or_else(|| format!("undefined type {}", name.fullname(None))),
            schema => Ok(schema),
        }
    }
}
