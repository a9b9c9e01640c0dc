//! The macros that expand the suite into one test per check in the calling crate.

/// Expands into one `#[tokio::test]` per check of
/// [`event_log`](crate::conformance::event_log), in a module `event_log_conformance`; see
/// the [module docs](crate::conformance).
#[macro_export]
macro_rules! event_log_conformance_tests {
    ($factory:expr $(,)?) => {
        $crate::__conformance_tests!(
            event_log_conformance,
            EventLog,
            event_log,
            $factory,
            [
                appended_records_come_back_in_key_order,
                a_new_group_starts_at_the_beginning,
                poll_returns_at_most_max_records,
                poll_returns_nothing_after_max_wait_when_nothing_is_there,
                a_resubscribed_group_resumes_right_after_its_committed_offsets,
                uncommitted_records_are_handed_out_again,
                consumer_groups_are_independent,
                records_appended_during_a_waiting_poll_are_delivered_to_it,
                lag_counts_appended_but_uncommitted_records,
                concurrent_appends_are_all_written_in_order_per_key,
            ]
        );
    };
}

/// Expands into one `#[tokio::test]` per check of [`store`](crate::conformance::store), in
/// a module `store_conformance`; see the [module docs](crate::conformance).
#[macro_export]
macro_rules! store_conformance_tests {
    ($factory:expr $(,)?) => {
        $crate::__conformance_tests!(
            store_conformance,
            Store,
            store,
            $factory,
            [
                a_mailbox_never_written_reads_as_default,
                read_mailbox_returns_messages_in_both_orders_up_to_limit,
                read_mailbox_ranges_exclude_their_bounds,
                inserting_the_same_message_twice_keeps_one_row,
                find_delivery_returns_the_msg_id_by_dedupe_key,
                mailbox_head_is_the_largest_inserted_msg_id_even_after_delete,
                delete_removes_from_reads_but_keeps_the_dedupe_key,
                mark_read_up_to_only_raises,
                hide_broadcast_accumulates,
                attributes_are_replaced_whole,
                a_command_row_reads_back_with_what_it_recalls,
                sends_are_found_by_request_and_dedupe_key,
                changes_of_one_call_apply_in_order,
                mailboxes_are_isolated,
                public_changes_read_back,
                reapplying_a_public_change_is_idempotent,
                load_public_mailboxes_holds_visible_broadcasts_and_whitelist,
                a_broadcast_never_counted_has_no_reach,
                reach_merges_are_unions_that_repeats_and_order_do_not_change,
                reach_of_broadcasts_and_apps_is_kept_apart,
            ]
        );
    };
}

/// Expands into one `#[tokio::test]` per check of
/// [`history`](crate::conformance::history), in a module `log_history_conformance`.
#[macro_export]
macro_rules! log_history_conformance_tests {
    ($factory:expr $(,)?) => {
        $crate::__conformance_tests!(
            log_history_conformance,
            LogHistory,
            history,
            $factory,
            [
                partitions_cover_what_was_appended_and_reads_return_ranges,
                reading_history_moves_no_group,
                committed_positions_follow_commits_and_can_be_set,
            ]
        );
    };
}

/// Expands into one `#[tokio::test]` per check of
/// [`inventory`](crate::conformance::inventory), in a module `replay_store_conformance`.
#[macro_export]
macro_rules! replay_store_conformance_tests {
    ($factory:expr $(,)?) => {
        $crate::__conformance_tests!(
            replay_store_conformance,
            ReplayStore,
            inventory,
            $factory,
            [
                replay_checkpoints_are_saved_and_replaced,
                mailboxes_page_through_every_mailbox_once,
                deliveries_and_apps_are_listed,
            ]
        );
    };
}

/// Expands into one `#[tokio::test]` per operator check of
/// [`accounts`](crate::conformance::accounts), in a module `operator_store_conformance`.
#[macro_export]
macro_rules! operator_store_conformance_tests {
    ($factory:expr $(,)?) => {
        $crate::__conformance_tests!(
            operator_store_conformance,
            OperatorStore,
            accounts,
            $factory,
            [operators_are_put_replaced_and_listed_by_name]
        );
    };
}

/// Expands into one `#[tokio::test]` per audit check of
/// [`accounts`](crate::conformance::accounts), in a module `audit_store_conformance`.
#[macro_export]
macro_rules! audit_store_conformance_tests {
    ($factory:expr $(,)?) => {
        $crate::__conformance_tests!(
            audit_store_conformance,
            AuditStore,
            accounts,
            $factory,
            [audit_entries_are_idempotent_and_listed_newest_first]
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($module:ident, $port:ident, $checks:ident, $factory:expr, [$($check:ident),* $(,)?]) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;

            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let fixture = ($factory).await;
                    let adapter = $crate::conformance::Fixture::<dyn $crate::$port>::adapter(&fixture);
                    $crate::conformance::$checks::$check(adapter).await;
                }
            )*
        }
    };
}
