//! Keyyo's pushed notifications, answered before the router.

use std::net::SocketAddr;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::model::event::LineEvent;

/// Keyyo's notification: checked, validated, deduplicated, journaled,
/// published, and only then answered 200. Keyyo does not send a
/// notification twice: a 200 is a promise that the call is kept. While the
/// journal cannot be written, 503 (the call is neither kept nor shown).
/// Called for every request to [`crate::config::keyyo::PATH`], before the
/// router (see [`handle`]).
pub(crate) async fn keyyo_notify(s: &AppState, peer: SocketAddr, checked: Checked) -> Response {
    use crate::infra::metrics::Notified;
    let metrics = s.ingest.metrics();
    let (event, callref, kind, confirm) = match checked {
        Ok(Some(taken)) => taken,
        // A repeat: already kept.
        Ok(None) => {
            metrics.notified(Notified::repeat);
            return (StatusCode::OK, "OK").into_response();
        }
        Err((outcome, refused)) => {
            metrics.notified(outcome);
            return refused;
        }
    };
    let line = event.line.clone();
    if confirm {
        // Older than what is remembered: the journal says if it is a
        // repeat (a notification sent again long after).
        let (l, c) = (line.clone(), callref.clone());
        let known = s.journal.read(move |j| j.has_event(&l, &c, kind.events()));
        if let Ok(true) = known.await {
            metrics.notified(Notified::repeat);
            return (StatusCode::OK, "OK").into_response();
        }
    }
    if let Err(why) = s.ingest.accept(event).await {
        // Not kept: a repeat of it must be taken.
        s.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .forget(&line, &callref, kind);
        tracing::warn!(%peer, "Keyyo notification refused: {why:?}");
        metrics.notified(match why {
            crate::store::ingest::Refused::JournalUnavailable => Notified::journal_unavailable,
            crate::store::ingest::Refused::Stopping => Notified::not_taken,
        });
        return ApiError::JournalUnavailable.into_response();
    }
    metrics.notified(Notified::accepted);
    metrics.published(crate::infra::metrics::Origin::keyyo);
    (StatusCode::OK, "OK").into_response()
}

/// A notification checked, validated and deduplicated: its event and its
/// repeat key, `None` for a repeat, or the refusal to send.
#[allow(clippy::result_large_err)]
pub(crate) fn keyyo_event(
    s: &AppState,
    source: &crate::wire::keyyo::Source,
    peer: SocketAddr,
    query: Option<&str>,
) -> Checked {
    use crate::infra::metrics::Notified;
    use crate::wire::keyyo::{validate, Query, Refusal};
    let Some(opts) = &s.opts.keyyo else {
        return Err((
            Notified::not_taken,
            ApiError::Off("Keyyo notifications are not configured").into_response(),
        ));
    };
    if !s.notify_limit.allow(peer.ip()) {
        return Err((
            Notified::rate_limited,
            ApiError::TooMany("too many notifications").into_response(),
        ));
    }
    let q = Query::parse(query.unwrap_or(""));
    let n = match validate(opts, source, peer.ip(), &q) {
        Ok(n) => n,
        Err(Refusal::Forbidden) => {
            tracing::warn!(%peer, "Keyyo notification refused: source or secret");
            return Err((
                Notified::forbidden,
                ApiError::Forbidden("forbidden").into_response(),
            ));
        }
        Err(Refusal::Invalid(why)) => {
            tracing::warn!(%peer, "Keyyo notification refused: {why}");
            return Err((Notified::invalid, ApiError::Invalid(why).into_response()));
        }
    };
    if s.ingest.is_refusing() {
        return Err((
            Notified::journal_unavailable,
            ApiError::JournalUnavailable.into_response(),
        ));
    }
    let event = n.line_event();
    let (first, confirm) = {
        let mut seen = s.seen.lock().unwrap_or_else(|p| p.into_inner());
        let first = seen.first_time(&event.line, n.callref, n.kind);
        (first, n.tsms.is_some_and(|t| !seen.remembers(t)))
    };
    Ok(first.then(|| (event, n.callref.to_owned(), n.kind, confirm)))
}

/// A notification checked: its event and repeat key, `None` for a repeat,
/// or the refusal to send and how it is counted.
pub(crate) type Checked = Result<
    Option<(LineEvent, String, crate::wire::keyyo::Kind, bool)>,
    (crate::infra::metrics::Notified, Response),
>;
