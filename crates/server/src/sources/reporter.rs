//! The outbox of `<report>`: every finished call, written into the journal
//! in the transaction of its last event, sent to the ERP one at a time,
//! marked done only when the answer meets `<success_body>`, and otherwise
//! sent again with back-off — across restarts and crashes, never dropped,
//! never sent again once done. A report carries `$reportid$`, the same on
//! every try: the one try a crash can repeat (sent, taken, the server
//! killed before it wrote "done") is one the ERP can recognise.

use std::sync::Arc;

use ctibridge_client::backoff::{Backoff, Jitter};
use std::time::Duration;

use crate::model::clock::now_ms;
use crate::model::record::CallRecord;
use crate::store::calls::{CallStore, DueReport, StoreResult};
use ctibridge_client::report::{FinishedCall, NotKept};
use ctibridge_lang::config::Config;

/// The first pause after a refusal; it doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
pub const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// How long a call whose last event is not in yet is waited for.
const NOT_OVER_YET: Duration = Duration::from_secs(60);
/// Reports read from the outbox at once.
const BATCH: usize = 16;
/// With nothing due, the outbox is read again at least this often.
const IDLE_CHECK: Duration = Duration::from_secs(60);

/// What the reporter needs.
pub struct Reporter {
    pub journal: crate::store::journal::SharedJournal,
    pub config: Arc<Config>,
    pub context: ctibridge_client::context::Context,
    pub client: ctibridge_client::http::HttpClient,
    /// Woken when a call ends.
    pub wake: Arc<tokio::sync::Notify>,
    pub metrics: Arc<crate::infra::metrics::Metrics>,
}

/// The pause before try `tries + 1` of a report tried `tries` times:
/// 1 s, 2 s, 4 s… up to 10 min, give or take a fifth.
pub fn backoff(tries: i64) -> Duration {
    let failures = u32::try_from(tries.clamp(1, 21) - 1).unwrap_or(0);
    Backoff::new(FIRST_BACKOFF, MAX_BACKOFF, Jitter::Fifth).after(failures)
}

impl Reporter {
    /// A journal call on a blocking thread.
    async fn with_journal<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn CallStore) -> StoreResult<T> + Send + 'static,
    ) -> Result<T, String> {
        self.journal.write(f).await
    }

    /// Sends what is due until `stop` resolves; between two reports, never
    /// in the middle of one.
    pub async fn run(self, stop: impl std::future::Future<Output = ()>) {
        let mut stop = std::pin::pin!(stop);
        let mut failing: Option<(std::time::Instant, u64)> = None;
        let mut journal_told = false;
        loop {
            self.count().await;
            let now = now_ms();
            let due = match self.with_journal(move |j| j.due_reports(now, BATCH)).await {
                Ok(d) => {
                    journal_told = false;
                    d
                }
                Err(e) => {
                    if !journal_told {
                        journal_told = true;
                        tracing::warn!("the report outbox cannot be read ({e}): trying again");
                    }
                    Vec::new()
                }
            };
            if due.is_empty() {
                let next = self
                    .with_journal(|j| j.next_report_at())
                    .await
                    .ok()
                    .flatten();
                let wait = next.map_or(IDLE_CHECK, |at| {
                    Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0)).min(IDLE_CHECK)
                });
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(wait) => {}
                    _ = &mut stop => return,
                }
                continue;
            }
            for d in due {
                self.one(d, &mut failing).await;
                // Stopping: the report in hand is finished, not the rest.
                if futures_ready(&mut stop) {
                    return;
                }
            }
        }
    }

    /// The outbox's counts into `/metrics`.
    async fn count(&self) {
        if let Ok(c) = self.with_journal(|j| j.report_counts()).await {
            self.metrics
                .reports_pending
                .set(i64::try_from(c.pending).unwrap_or(i64::MAX));
            self.metrics
                .reports_failing
                .set(i64::try_from(c.failing).unwrap_or(i64::MAX));
        }
    }

    async fn one(&self, d: DueReport, failing: &mut Option<(std::time::Instant, u64)>) {
        let (line, callref) = (d.line.clone(), d.callref.clone());
        let id = d.id;
        let call = match self.with_journal(move |j| j.call(&line, &callref)).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("a finished call cannot be read from the journal: {e}");
                return;
            }
        };
        let Some(call) = call else {
            // No event left of the call (cannot happen: they are written
            // together); nothing to tell.
            let _ = self
                .with_journal(move |j| j.report_skipped(id, now_ms()))
                .await;
            return;
        };
        if !call.state.is_ended() {
            // An early end (a "missed" after the answer): its last event
            // will make it due again.
            let later = now_ms() + NOT_OVER_YET.as_millis() as i64;
            let _ = self.with_journal(move |j| j.report_later(id, later)).await;
            return;
        }
        let finished = finished_call(&call);
        let spec = self
            .config
            .report
            .as_ref()
            .expect("a reporter has <report>");
        if !ctibridge_client::report::wanted(spec, &finished) {
            let _ = self
                .with_journal(move |j| j.report_skipped(id, now_ms()))
                .await;
            return;
        }
        let sent =
            ctibridge_client::report::send(&self.client, &self.config, &self.context, &finished)
                .await;
        match sent {
            Ok(()) => {
                self.metrics.reports_sent.inc();
                if let Err(e) = self
                    .with_journal(move |j| j.report_done(id, now_ms()))
                    .await
                {
                    tracing::warn!(
                        "a report the ERP took cannot be marked done ({e}): it will be sent again, with the same $reportid$"
                    );
                }
                if let Some((since, n)) = failing.take() {
                    tracing::info!(
                        target: ctibridge_client::names::LOG_TARGET,
                        "the ERP takes reports again, after {n} refused tries in {:.0?}",
                        since.elapsed()
                    );
                }
            }
            Err(why) => {
                self.metrics.reports_refused.inc();
                let tries = d.tries + 1;
                let next = now_ms() + backoff(tries).as_millis() as i64;
                // Kept in the journal and shown by history: never a secret.
                let text = ctibridge_lang::redact::mask(&why.to_string()).into_owned();
                let stored = text.clone();
                let _ = self
                    .with_journal(move |j| j.report_refused(id, next, &stored))
                    .await;
                match failing {
                    Some((_, n)) => *n += 1,
                    None => {
                        *failing = Some((std::time::Instant::now(), 1));
                        let what = match why {
                            NotKept::Broken(_) => "cannot be built",
                            NotKept::Refused(_) => "is not taken",
                        };
                        tracing::warn!(
                            target: ctibridge_client::names::LOG_TARGET,
                            "a call report {what}: {text}; kept and sent again with back-off (history shows it)"
                        );
                    }
                }
            }
        }
    }
}

/// Whether `f` has finished, without waiting.
fn futures_ready(f: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>) -> bool {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    f.as_mut().poll(&mut cx).is_ready()
}

/// A journal's call as its report tells it.
pub fn finished_call(c: &CallRecord) -> FinishedCall {
    FinishedCall {
        line: c.line.clone(),
        other: c.tel.clone(),
        called: c.called.clone(),
        direction: c.direction,
        answered: c.connect_at.is_some(),
        setup_at: c.setup_at,
        ringing_ms: c.ringing_ms.unwrap_or(0),
        talk_ms: c.talk_ms.unwrap_or(0),
        callref: c.callref.clone(),
        replaces: c.replaces.clone(),
        person: c.person.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_to_ten_minutes() {
        for (tries, secs) in [
            (1, 1.0),
            (2, 2.0),
            (3, 4.0),
            (10, 512.0),
            (11, 600.0),
            (50, 600.0),
        ] {
            let b = backoff(tries).as_secs_f64();
            assert!(
                (secs * 0.8..=secs * 1.2).contains(&b),
                "try {tries}: {b} s, not about {secs} s"
            );
        }
    }
}
