//! Frame render time of the terminal UI (`watch`) at 10, 100 and 1,000 groups, on ratatui's
//! `TestBackend` (the draw itself, no terminal I/O). Each frame moves the selection and the
//! clock, so rows, the clusters panel and every age change as they do live.
//! `cargo bench --bench tui_render`; the numbers go to docs/benchmarks.md. Target: ≤ 2 ms per
//! frame at 1,000 groups.

#[path = "../tests/tui_fixtures/mod.rs"]
mod fixtures;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fixtures::{app_with, healthy, lock, secs, t0};
use kubectl_failover::store::GroupSnapshot;
use kubectl_failover::tui::app::Msg;
use kubectl_failover::tui::ui;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::{Duration, Instant};

const FRAMES: usize = 2000;

fn groups(n: usize) -> Vec<GroupSnapshot> {
    (0..n)
        .map(|i| {
            let mut s = healthy(&format!("ns{:02}", i % 17), &format!("group-{i:04}"));
            if i % 7 == 0 {
                s.lock = Some(lock("cluster-b", 3, 27));
            }
            s
        })
        .collect()
}

fn measure(n: usize, size: (u16, u16)) -> Vec<Duration> {
    let mut app = app_with(&groups(n), size.0, size.1);
    let mut terminal = Terminal::new(TestBackend::new(size.0, size.1)).expect("test backend");
    let down = Msg::Key(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE));
    let top = Msg::Key(KeyEvent::new(KeyCode::Char('g'), KeyModifiers::NONE));
    let mut times = Vec::with_capacity(FRAMES);
    for frame in 0..FRAMES {
        // Walk down the list and wrap, so the list scrolls through every group.
        let _ = app.update(if app.selected + 1 >= n {
            top.clone()
        } else {
            down.clone()
        });
        let _ = app.update(Msg::Tick(t0() + secs(frame as i64 / 10)));
        let start = Instant::now();
        terminal.draw(|f| ui::draw(f, &app)).expect("draw");
        times.push(start.elapsed());
    }
    times.sort();
    times
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

fn main() {
    println!(
        "| groups | terminal | frames | median (ms) | p99 (ms) | max (ms) | target (ms) | met |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for n in [10, 100, 1000] {
        for size in [(80, 24), (200, 60)] {
            let t = measure(n, size);
            let p99 = t[t.len() * 99 / 100];
            let met = if n < 1000 {
                "-"
            } else if p99 <= Duration::from_millis(2) {
                "yes"
            } else {
                "NO"
            };
            println!(
                "| {n} | {}x{} | {FRAMES} | {} | {} | {} | {} | {met} |",
                size.0,
                size.1,
                ms(t[t.len() / 2]),
                ms(p99),
                ms(t[t.len() - 1]),
                if n == 1000 { "≤ 2" } else { "-" },
            );
        }
    }
}
