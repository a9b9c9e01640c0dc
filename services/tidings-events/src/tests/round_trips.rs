//! Every domain value comes back from its bytes as it was.

use proptest::prelude::*;

use super::examples::{broadcast_events, dead_letter, mailbox_events, notify_signals, reach_events};
use super::strategies;
use crate::EventCodec;

#[test]
fn one_of_each_variant_round_trips() {
    let codec = EventCodec::new();
    for event in mailbox_events() {
        assert_eq!(codec.decode_mailbox(&codec.encode_mailbox(&event)).unwrap(), event);
    }
    for event in broadcast_events() {
        assert_eq!(codec.decode_broadcast(&codec.encode_broadcast(&event)).unwrap(), event);
    }
    for signal in notify_signals() {
        assert_eq!(codec.decode_notify(&codec.encode_notify(&signal)).unwrap(), signal);
    }
    for event in reach_events() {
        assert_eq!(codec.decode_reach(&codec.encode_reach(&event)).unwrap(), event);
    }
    let letter = dead_letter();
    assert_eq!(codec.decode_dead_letter(&codec.encode_dead_letter(&letter)).unwrap(), letter);
}

proptest! {
    #[test]
    fn mailbox_events_round_trip(event in strategies::mailbox_event()) {
        let codec = EventCodec::new();
        prop_assert_eq!(codec.decode_mailbox(&codec.encode_mailbox(&event)).unwrap(), event);
    }

    #[test]
    fn broadcast_events_round_trip(event in strategies::broadcast_event()) {
        let codec = EventCodec::new();
        prop_assert_eq!(codec.decode_broadcast(&codec.encode_broadcast(&event)).unwrap(), event);
    }

    #[test]
    fn notify_signals_round_trip(signal in strategies::notify_signal()) {
        let codec = EventCodec::new();
        prop_assert_eq!(codec.decode_notify(&codec.encode_notify(&signal)).unwrap(), signal);
    }

    #[test]
    fn reach_events_round_trip(event in strategies::reach_event()) {
        let codec = EventCodec::new();
        prop_assert_eq!(codec.decode_reach(&codec.encode_reach(&event)).unwrap(), event);
    }

    #[test]
    fn dead_letters_round_trip(letter in strategies::dead_letter()) {
        let codec = EventCodec::new();
        prop_assert_eq!(codec.decode_dead_letter(&codec.encode_dead_letter(&letter)).unwrap(), letter);
    }
}
