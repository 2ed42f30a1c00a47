//! `GET /metrics`: what the server did, in the Prometheus text format —
//! notifications accepted and refused (by reason), events published (by
//! source), polls held, desks connected, dials placed and refused, the
//! journal's queue and commit time. The counters of the busy paths are
//! plain atomic handles made once; the gauges of state the server keeps
//! anyway (desks, queue) are read when scraped.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;

/// The journal's commit times' buckets (seconds): 50 µs to 5 s, the
/// bounds a person reads.
const COMMIT_BUCKETS: [f64; 12] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.1, 0.5, 5.0,
];
use prometheus_client::registry::Registry;

/// What became of a Keyyo notification.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Notified {
    /// Journaled and published.
    accepted,
    /// A repeat of one already kept: answered 200, nothing new.
    repeat,
    /// Wrong source or secret (403).
    forbidden,
    /// A field missing or malformed (400).
    invalid,
    /// Over the rate of its address (429).
    rate_limited,
    /// The journal cannot be written (503).
    journal_unavailable,
    /// The server is stopping, or notifications are not configured.
    not_taken,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: Notified,
}

/// Where a published event came from.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Origin {
    keyyo,
    relay,
    simulator,
    /// Keyyo's CTI WebSocket pushes.
    keyyo_cti,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OriginLabel {
    source: Origin,
}

/// What became of a `setevent` dial.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Dialled {
    placed,
    refused,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DialLabel {
    outcome: Dialled,
}

/// Why a desk's login (or `gettoken`) was refused.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum LoginRefused {
    wrong_secret,
    throttled,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoginLabel {
    reason: LoginRefused,
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    /// Each label's counter, made once: counting is one atomic add.
    notifications: [Counter; 7],
    published: [Counter; 4],
    dials: [Counter; 2],
    /// Desk logins and `gettoken` refused: a wrong secret, or a try made
    /// to wait after several.
    refused_logins: [Counter; 2],
    /// Polls held at the moment.
    pub held_polls: Gauge,
    desks: Gauge,
    journal_queue: Gauge,
    /// Seconds each journal commit took (a batch of events).
    pub commit_seconds: Histogram,
    /// `<report>`: reports the ERP took, tries it did not take, and the
    /// outbox now (set by the reporter).
    pub reports_sent: Counter,
    pub reports_refused: Counter,
    pub reports_pending: Gauge,
    pub reports_failing: Gauge,
    /// `<lookup>`: lookups sent to the ERP, answered from the cache, and
    /// pops that went without a name (late or failed).
    pub lookups: Family<LookupLabel, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LookupLabel {
    pub outcome: &'static str,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("ctibridge");
        let notifications = Family::<OutcomeLabel, Counter>::default();
        let published = Family::<OriginLabel, Counter>::default();
        let dials = Family::<DialLabel, Counter>::default();
        let refused_logins = Family::<LoginLabel, Counter>::default();
        let held_polls = Gauge::default();
        let desks = Gauge::default();
        let journal_queue = Gauge::default();
        // Written out rather than computed: 0.00005 × 3ⁿ prints as
        // `le="0.00015000000000000001"`.
        let commit_seconds = Histogram::new(COMMIT_BUCKETS.iter().copied());
        registry.register(
            "notifications",
            "Keyyo notifications received, by what became of them",
            notifications.clone(),
        );
        registry.register(
            "events_published",
            "Call events journaled and handed to desks, by where they came from",
            published.clone(),
        );
        registry.register(
            "dials",
            "setevent dials, placed by the provider or refused",
            dials.clone(),
        );
        registry.register(
            "logins_refused",
            "Desk logins and gettoken refused: a wrong secret, or a try made to wait after several wrong ones",
            refused_logins.clone(),
        );
        registry.register(
            "held_polls",
            "getevent polls held at the moment",
            held_polls.clone(),
        );
        registry.register(
            "desks_connected",
            "Desks holding a valid token",
            desks.clone(),
        );
        registry.register(
            "journal_queue",
            "Call events waiting for the journal's next commit",
            journal_queue.clone(),
        );
        let reports_sent = Counter::default();
        let reports_refused = Counter::default();
        let reports_pending = Gauge::default();
        let reports_failing = Gauge::default();
        let lookups = Family::<LookupLabel, Counter>::default();
        registry.register(
            "reports_sent",
            "Reports of finished calls the ERP took (<report>)",
            reports_sent.clone(),
        );
        registry.register(
            "report_refusals",
            "Tries of a report the ERP did not take (sent again later)",
            reports_refused.clone(),
        );
        registry.register(
            "reports_pending",
            "Reports in the outbox, not taken yet",
            reports_pending.clone(),
        );
        registry.register(
            "reports_failing",
            "Reports in the outbox the ERP refused at least once",
            reports_failing.clone(),
        );
        registry.register(
            "lookups",
            "Caller lookups of the calls, by outcome: asked (a request to the ERP), shared (another call's request for the same number), kept (from the cache), late (the pop went without), failed",
            lookups.clone(),
        );
        registry.register(
            "journal_commit_seconds",
            "Time each journal commit (one batch of events) took",
            commit_seconds.clone(),
        );
        use Notified::*;
        let notifications = [
            accepted,
            repeat,
            forbidden,
            invalid,
            rate_limited,
            journal_unavailable,
            not_taken,
        ]
        .map(|outcome| {
            notifications
                .get_or_create(&OutcomeLabel { outcome })
                .clone()
        });
        let published = [
            Origin::keyyo,
            Origin::relay,
            Origin::simulator,
            Origin::keyyo_cti,
        ]
        .map(|source| published.get_or_create(&OriginLabel { source }).clone());
        let dials = [Dialled::placed, Dialled::refused]
            .map(|outcome| dials.get_or_create(&DialLabel { outcome }).clone());
        let refused_logins = [LoginRefused::wrong_secret, LoginRefused::throttled]
            .map(|reason| refused_logins.get_or_create(&LoginLabel { reason }).clone());
        Metrics {
            registry,
            notifications,
            published,
            dials,
            refused_logins,
            held_polls,
            desks,
            journal_queue,
            commit_seconds,
            reports_sent,
            reports_refused,
            reports_pending,
            reports_failing,
            lookups,
        }
    }
}

impl Metrics {
    /// A notification's outcome, counted.
    pub fn notified(&self, outcome: Notified) {
        self.notifications[outcome as usize].inc();
    }

    /// An event published, counted.
    pub fn published(&self, source: Origin) {
        self.published[source as usize].inc();
    }

    /// A refused login, counted.
    pub fn login_refused(&self, reason: LoginRefused) {
        self.refused_logins[reason as usize].inc();
    }

    /// A dial's outcome, counted.
    pub fn dialled(&self, outcome: Dialled) {
        self.dials[outcome as usize].inc();
    }

    /// The text Prometheus reads, with the gauges read now.
    pub fn render(&self, desks: usize, journal_queue: usize) -> String {
        self.desks.set(i64::try_from(desks).unwrap_or(i64::MAX));
        self.journal_queue
            .set(i64::try_from(journal_queue).unwrap_or(i64::MAX));
        let mut out = String::new();
        // Writing into a String does not fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
