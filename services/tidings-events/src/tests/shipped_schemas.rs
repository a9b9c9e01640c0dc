//! The shipped `.avsc` files: they parse, their fingerprints never change, and the mappings
//! agree with them on the order of union branches and enum symbols.

use apache_avro::Schema;
use tidings_domain::broadcast::LifecycleAction;
use tidings_domain::client::Platform;

use crate::avro::family::SchemaFamily;
use crate::{EventCodec, broadcast, mailbox, notify, reach};

#[test]
fn shipped_schemas_parse() {
    fn shareable<T: Send + Sync + Clone + std::fmt::Debug>() {}
    shareable::<EventCodec>();
    let codec = EventCodec::default();
    for family in codec.families.all() {
        assert!(!family.versions().is_empty(), "{}", family.name);
    }
}

/// The fingerprints of the shipped versions, computed by a separate implementation of
/// the specification's canonical form and CRC-64-AVRO. A change here means a shipped
/// `.avsc` was edited, and events written with it would no longer decode.
#[test]
fn shipped_fingerprints_never_change() {
    let codec = EventCodec::new();
    let families = &codec.families;
    let pinned: [(&SchemaFamily, &[u64]); 5] = [
        (&families.mailbox, &[0xc9bc_2e85_64ab_ffa2, 0x9469_2e52_19fd_d6dc]),
        (&families.broadcast, &[0x709f_e9bf_0070_0b1c, 0xd6ee_1ada_8bff_e29f, 0x0567_1e3e_b173_f522]),
        (&families.notify, &[0x0852_1037_7557_ed77]),
        (&families.reach, &[0x3e80_3414_62f2_07bf]),
        (&families.dead_letter, &[0xabe6_b478_27f8_8fde]),
    ];
    for (family, fingerprints) in pinned {
        let shipped: Vec<u64> = family.versions().iter().map(|v| v.fingerprint).collect();
        assert_eq!(shipped, fingerprints, "{}", family.name);
    }
}

/// The mappings pick union branches and enum symbols by position; the positions must be
/// those of the newest schema.
#[test]
fn mappings_agree_with_the_schema_on_branch_and_symbol_order() {
    fn field_type<'a>(schema: &'a Schema, field: &str) -> &'a Schema {
        let Schema::Record(record) = schema else { panic!("not a record") };
        &record.fields[record.lookup[field]].schema
    }
    fn branch_names(union: &Schema) -> Vec<String> {
        let Schema::Union(union) = union else { panic!("not a union") };
        union.variants().iter().map(|v| v.name().unwrap().name.clone()).collect()
    }
    let codec = EventCodec::new();
    let families = &codec.families;
    let mailbox = &families.mailbox.current().schema;
    assert_eq!(branch_names(field_type(mailbox, "event")), mailbox::BRANCHES);
    let notify = &families.notify.current().schema;
    assert_eq!(branch_names(field_type(notify, "signal")), notify::BRANCHES);
    let broadcast = &families.broadcast.current().schema;
    let change = field_type(broadcast, "change");
    assert_eq!(branch_names(change), broadcast::BRANCHES);

    let Schema::Union(change) = change else { unreachable!() };
    let created = &change.variants()[0];
    let audience = field_type(field_type(created, "content"), "audience");
    let Schema::Array(platforms) = field_type(audience, "platforms") else { panic!("platforms is not an array") };
    let Schema::Enum(platform) = &*platforms.items else { panic!("Platform is not an enum") };
    let domain_platforms: Vec<&str> = Platform::ALL.iter().map(Platform::as_str).collect();
    assert_eq!(platform.symbols, domain_platforms);
    let Schema::Enum(action) = field_type(&change.variants()[2], "action") else {
        panic!("LifecycleAction is not an enum")
    };
    assert_eq!(action.symbols, broadcast::ACTIONS.map(|(_, symbol)| symbol));
    let reach_cell = |field| {
        let Schema::Array(cells) = field_type(&families.reach.current().schema, "cells") else { panic!("cells") };
        let Schema::Enum(symbols) = field_type(&cells.items, field) else { panic!("{field} is not an enum") };
        symbols.symbols.clone()
    };
    assert_eq!(reach_cell("kind"), reach::KINDS.map(|(_, symbol)| symbol));
    assert_eq!(reach_cell("platform"), reach::PLATFORMS.map(|(_, symbol)| symbol));
    let Schema::Union(actor) = field_type(broadcast, "actor") else { panic!("actor is not a union") };
    let Schema::Enum(kind) = field_type(&actor.variants()[1], "kind") else { panic!("ActorKind is not an enum") };
    assert_eq!(kind.symbols, broadcast::ACTOR_KINDS);
    // Every action has a symbol (a new domain action must be added to the schema).
    let _exhaustive = |action: LifecycleAction| match action {
        LifecycleAction::PrePublish
        | LifecycleAction::Publish
        | LifecycleAction::Stop
        | LifecycleAction::Recall
        | LifecycleAction::Delete => (),
    };
}
