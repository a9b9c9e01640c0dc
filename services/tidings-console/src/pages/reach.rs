//! A broadcast's reach as the console shows it: the distinct users it was delivered to and
//! who read it, in total, by platform and over time, from the sketches the pull workers
//! flushed and the projector folded (docs/design.md#reach).

use maud::{Markup, html};
use tidings_domain::AppId;
use tidings_domain::broadcast::Broadcast;
use tidings_reach::{KindStats, ReachStats};

use crate::ConsoleState;
use crate::chart::{Series, line_chart};
use crate::refusal::Refusal;

/// The two totals of the list page.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReachTotals {
    pub delivered: u64,
    pub read: u64,
}

pub async fn totals(
    state: &ConsoleState,
    app_id: AppId,
    broadcasts: &[Broadcast],
) -> Result<Vec<ReachTotals>, Refusal> {
    let mut totals = Vec::with_capacity(broadcasts.len());
    for broadcast in broadcasts {
        let stats = state.reach(app_id, broadcast.broadcast_id).await?;
        totals.push(ReachTotals { delivered: stats.delivered.total, read: stats.read.total });
    }
    Ok(totals)
}

pub async fn section(state: &ConsoleState, broadcast: &Broadcast) -> Result<Markup, Refusal> {
    let stats = state.reach(broadcast.app_id, broadcast.broadcast_id).await?;
    Ok(html! {
        table #reach {
            thead { tr { th { "" } th { "Total" } @for platform in platforms(&stats) { th { (platform) } } } }
            tbody {
                (row("Delivered", "delivered", &stats.delivered, &stats))
                (row("Read", "read", &stats.read, &stats))
            }
        }
        p.muted { "Distinct users, counted by the pull workers in HyperLogLog sketches (exact for small counts, within about 1 % at millions) and flushed every few seconds." }
        (line_chart("Users reached so far, by hour", &[
            cumulative("delivered", "#2a6fdb", &stats.delivered),
            cumulative("read", "#1f9d55", &stats.read),
        ]))
    })
}

fn platforms(stats: &ReachStats) -> Vec<String> {
    let mut names: Vec<String> =
        stats.delivered.by_platform.keys().chain(stats.read.by_platform.keys()).map(|p| p.to_string()).collect();
    names.sort();
    names.dedup();
    names
}

fn row(label: &str, class: &str, kind: &KindStats, stats: &ReachStats) -> Markup {
    html! {
        tr class=(class) {
            th { (label) }
            td.num.total { (kind.total) }
            @for platform in platforms(stats) {
                td.num data-platform=(platform) {
                    (kind.by_platform.iter().find(|(p, _)| p.to_string() == platform).map(|(_, n)| *n).unwrap_or(0))
                }
            }
        }
    }
}

fn cumulative(name: &str, colour: &'static str, kind: &KindStats) -> Series {
    Series {
        name: name.into(),
        colour,
        points: kind.by_hour.iter().map(|hour| (hour.hour_start, hour.cumulative)).collect(),
    }
}
