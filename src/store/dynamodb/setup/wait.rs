//! Waiting for a table and its GSI1 to become ACTIVE: DescribeTable polled with a short, growing
//! backoff, each poll reported as progress, bounded by a deadline.

use super::shape::TableShape;
use super::{SetupError, SetupProgress};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// First pause between polls: a new on-demand table is usually ACTIVE within seconds.
const FIRST_POLL: Duration = Duration::from_millis(250);
/// Longest pause between polls, so a long GSI backfill is still reported every few seconds.
const MAX_POLL: Duration = Duration::from_secs(5);

/// Polls `describe` until the table and GSI1 are ACTIVE, and returns the final shape.
///
/// Fails with `Timeout` (naming the table and the last state) after `timeout`, with `Deleting`
/// when the table is being deleted, and with `Vanished` when it no longer exists.
pub(super) async fn until_ready<F, Fut>(
    table: &str,
    timeout: Duration,
    mut describe: F,
    progress: &mut dyn FnMut(SetupProgress),
) -> Result<TableShape, SetupError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<TableShape>, SetupError>>,
{
    // tokio's clock, so tests can run the wait with paused time.
    let started = Instant::now();
    let mut pause = FIRST_POLL;
    loop {
        let shape = describe().await?.ok_or_else(|| SetupError::Vanished {
            table: table.to_string(),
        })?;
        if shape.status == "DELETING" {
            return Err(SetupError::Deleting {
                table: table.to_string(),
            });
        }
        if shape.is_ready() {
            return Ok(shape);
        }
        let waited = started.elapsed();
        if waited >= timeout {
            return Err(SetupError::Timeout {
                table: table.to_string(),
                state: shape.state_summary(),
                waited,
            });
        }
        progress(SetupProgress::Waiting {
            table: table.to_string(),
            state: shape.state_summary(),
            waited,
        });
        tokio::time::sleep(pause.min(timeout - waited)).await;
        pause = (pause * 2).min(MAX_POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::dynamodb::schema::GSI1;
    use crate::store::dynamodb::setup::shape::IndexShape;
    use std::collections::VecDeque;

    fn shape(table: &str, index: Option<&str>) -> TableShape {
        TableShape {
            name: "t".into(),
            status: table.into(),
            indexes: vec![IndexShape {
                name: GSI1.into(),
                status: index.map(str::to_string),
                ..IndexShape::default()
            }],
            ..TableShape::default()
        }
    }

    /// Runs the wait over a scripted sequence of DescribeTable answers (the last one repeats).
    async fn run(
        answers: Vec<Option<TableShape>>,
        timeout: Duration,
    ) -> (Result<TableShape, SetupError>, Vec<String>, usize) {
        let mut answers: VecDeque<_> = answers.into();
        let mut polls = 0;
        let mut seen = Vec::new();
        let result = until_ready(
            "t",
            timeout,
            || {
                polls += 1;
                let next = if answers.len() > 1 {
                    answers.pop_front().flatten()
                } else {
                    answers.front().cloned().flatten()
                };
                async move { Ok(next) }
            },
            &mut |p| {
                if let SetupProgress::Waiting { state, .. } = p {
                    seen.push(state);
                }
            },
        )
        .await;
        (result, seen, polls)
    }

    #[tokio::test(start_paused = true)]
    async fn the_wait_ends_only_when_the_table_and_gsi1_are_both_active() {
        let (result, seen, polls) = run(
            vec![
                Some(shape("CREATING", Some("CREATING"))),
                Some(shape("ACTIVE", Some("CREATING"))),
                Some(shape("ACTIVE", Some("ACTIVE"))),
            ],
            Duration::from_secs(60),
        )
        .await;
        assert!(result.unwrap().is_ready());
        assert_eq!(seen, vec!["CREATING", "ACTIVE, GSI1 CREATING"]);
        assert_eq!(polls, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_table_that_never_becomes_active_times_out_naming_its_state() {
        let started = Instant::now();
        let (result, _, polls) = run(
            vec![Some(shape("ACTIVE", Some("CREATING")))],
            Duration::from_secs(30),
        )
        .await;
        let err = result.unwrap_err();
        assert!(matches!(err, SetupError::Timeout { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("\"t\"") && text.contains("GSI1 CREATING"),
            "{text}"
        );
        assert!(started.elapsed() >= Duration::from_secs(30));
        assert!(started.elapsed() < Duration::from_secs(31));
        // 250ms doubling to 5s: a handful of polls, not a busy loop.
        assert!((5..=15).contains(&polls), "{polls} polls");
    }

    #[tokio::test(start_paused = true)]
    async fn a_table_being_deleted_or_gone_ends_the_wait_with_that_reason() {
        let (result, _, _) = run(vec![Some(shape("DELETING", None))], Duration::from_secs(5)).await;
        assert!(matches!(result, Err(SetupError::Deleting { .. })));
        let (result, _, _) = run(vec![None], Duration::from_secs(5)).await;
        assert!(matches!(result, Err(SetupError::Vanished { .. })));
    }
}
