//! `make bench`: how long a catalog search takes on the server, and how long the console's filter takes per
//! keystroke, each beside a plain substring scan over the same elements in the same run.
//!
//! The console's filter is the same `app::search::rank` compiled to WebAssembly; it is timed natively here, so
//! its browser figure is this one times WebAssembly's slowdown (commonly 1.5 to 3 times).

use app::catalog::ElementId;
use app::search::{IndexedCard, rank};
use std::hint::black_box;
use std::time::Duration;
use tether::catalog::{CatalogEntry, search};

mod measure;
use measure::{median, micros, p95};

fn timings(work: impl FnMut()) -> Vec<Duration> {
    measure::timings(ROUNDS, work)
}

const ROUNDS: usize = 400;
const COMMAND: &str = "cargo bench -p tether --bench catalog";

fn main() {
    let definitions = tether::catalog::built_in().expect("the built-in catalog loads");
    let entries: Vec<CatalogEntry> = definitions
        .into_iter()
        .enumerate()
        .map(|(index, definition)| CatalogEntry::new(ElementId(index as i64), definition, false))
        .collect();
    let cards: Vec<IndexedCard> = entries.iter().map(|entry| IndexedCard::new(entry.to_card())).collect();
    println!("catalog: {} elements, {ROUNDS} rounds per figure\n", entries.len());

    println!("server search (GET /elements ranking, page of 200), microseconds");
    println!("{:<14} {:>10} {:>10} {:>16} {:>8}", "term", "median", "p95", "substring scan", "ratio");
    let mut worst_median = Duration::ZERO;
    for term in ["hubspot", "sales", "drive", "crm", "zzz", ""] {
        let query = app::catalog::ElementQuery { search: Some(term.into()), ..Default::default() };
        let page = app::paging::Page::of(Some(1), Some(200)).expect("a valid page");
        let ranked = timings(|| {
            black_box(search(entries.iter(), black_box(&query), page));
        });
        let scan = timings(|| {
            let needle = term.to_lowercase();
            black_box(entries.iter().filter(|entry| entry.definition.name.to_lowercase().contains(&needle)).count());
        });
        worst_median = worst_median.max(median(&ranked));
        println!(
            "{:<14} {:>10.1} {:>10.1} {:>16.1} {:>7.1}x",
            format!("{term:?}"),
            micros(median(&ranked)),
            micros(p95(&ranked)),
            micros(median(&scan)),
            micros(median(&ranked)) / micros(median(&scan)).max(0.001)
        );
    }
    println!("worst median: {:.3} ms (target: under 1 ms)\n", worst_median.as_secs_f64() * 1e3);
    measure::record_figure(
        "catalog search (GET /elements ranking), worst median over the terms",
        &format!("{:.3} ms", worst_median.as_secs_f64() * 1e3),
        "under 1 ms",
        COMMAND,
    );

    println!(
        "console filter per keystroke (rank all cards, keep the 120 drawn), typing \"infusionsoft crm\", microseconds"
    );
    let typed = "infusionsoft crm";
    let mut per_keystroke = Vec::new();
    for end in 1..=typed.len() {
        let prefix = &typed[..end];
        let samples = timings(|| {
            let shown: Vec<_> = rank(cards.iter(), black_box(prefix), None, None)
                .into_iter()
                .take(120)
                .map(|c| c.card.clone())
                .collect();
            black_box(shown);
        });
        per_keystroke.push((prefix, median(&samples)));
    }
    for (prefix, time) in &per_keystroke {
        println!("{:<20} {:>10.1}", format!("{prefix:?}"), micros(*time));
    }
    let slowest = per_keystroke.iter().map(|(_, time)| *time).max().unwrap_or_default();
    println!(
        "slowest keystroke median: {:.3} ms natively (target: under 16 ms in the browser)",
        slowest.as_secs_f64() * 1e3
    );
    measure::record_figure(
        "console catalog filter, slowest keystroke median (native)",
        &format!("{:.3} ms", slowest.as_secs_f64() * 1e3),
        "under 16 ms in the browser",
        COMMAND,
    );
}
