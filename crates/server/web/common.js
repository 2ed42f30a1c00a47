// What the desk and the wall share: requests to the server, times and
// durations, elements.
// @ts-check
"use strict";

/** What the desk and the wall share (one name in the page's scope). */
const common = (() => {
  const { t, lang } = i18n;

  const state = { csrf: "", skew: 0 };

  /** A call's live state as the server writes it (`SETUP`, `CONNECT`,
   * `PARKED`, `RELEASE`: its `LiveState`), as the pages name it. */
  const LIVE = { SETUP: "ringing", CONNECT: "talking", PARKED: "parked", RELEASE: "ended" };

  /** The page's name of the server's live state `s`. */
  function liveState(s) {
    return LIVE[s] || "ringing";
  }

  /** A request to the server; the answer's JSON, or an Error with its `error`. */
  async function api(path, options) {
    const opts = options || {};
    /** @type {Record<string, string>} */
    const headers = {};
    if (opts.method && opts.method !== "GET") headers["X-CSRF-Token"] = state.csrf;
    if (opts.form) headers["Content-Type"] = "application/x-www-form-urlencoded";
    const resp = await fetch(path, {
      method: opts.method || "GET",
      headers,
      body: opts.form ? new URLSearchParams(opts.form).toString() : undefined,
      credentials: "same-origin",
      cache: "no-store",
    });
    let body = {};
    try { body = await resp.json(); } catch (_) { body = {}; }
    if (!resp.ok) {
      const e = /** @type {Error & { status?: number }} */ (new Error(body.error || ("HTTP " + resp.status)));
      e.status = resp.status;
      throw e;
    }
    return body;
  }

  /** The query string of `params`. */
  function query(params) {
    return new URLSearchParams(params).toString();
  }

  /** Milliseconds since 1970, on the server's clock. */
  function serverNow() {
    return Date.now() + state.skew;
  }

  /** `m:ss` or `h:mm:ss`. */
  function duration(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = String(s % 60).padStart(2, "0");
    return h > 0 ? h + ":" + String(m).padStart(2, "0") + ":" + sec : m + ":" + sec;
  }

  let dateFormat = null;

  /** A date and time as the browser's language writes them. */
  function when(ms) {
    // One formatter for the page: making one costs more than the row.
    if (dateFormat && dateFormat.lang !== lang()) dateFormat = null;
    dateFormat = dateFormat || Object.assign(new Intl.DateTimeFormat(lang() === "en" ? "en-GB" : "fr-FR", {
      dateStyle: "short", timeStyle: "medium",
    }), { lang: lang() });
    return dateFormat.format(new Date(ms));
  }

  /** An element: `el("li", {class: "x"}, child, "text")`. */
  function el(name, attrs, ...children) {
    const e = document.createElement(name);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (v === true) e.setAttribute(k, "");
      else e.setAttribute(k, v);
    }
    for (const c of children) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  /** The party as a person reads it: the name (and company) and the number. */
  function party(c) {
    const number = c.tel || t("withheld");
    if (c.name) return c.company ? `${c.name} (${c.company}) — ${number}` : `${c.name} — ${number}`;
    if (c.company) return `${c.company} — ${number}`;
    return number;
  }

  /** Shows `text` in the page's status line. */
  function status(text) {
    const s = document.getElementById("status");
    if (s) s.textContent = text;
  }

  /**
   * Follows the server's call events: `onEvent(e)` for each, in order, and
   * after a drop the browser's EventSource asks again from the last event's
   * number (Last-Event-ID): nothing is missed. `kind` is the stream's
   * event: `call`, or the wall's `wall` changes.
   */
  function follow(path, onEvent, kind = "call") {
    const source = new EventSource(path);
    let down = false;
    // Each event once, in order: one already had (a repeat) is counted and
    // left out. A `call` has its number, a `wall` change the number of the
    // last event in it.
    let last = 0n;
    let repeats = 0;
    source.addEventListener(kind, (m) => {
      const e = JSON.parse(m.data);
      const seq = BigInt(e.seq ?? e.cursor);
      if (seq <= last) {
        repeats += 1;
        document.body.dataset.repeats = String(repeats);
        return;
      }
      last = seq;
      onEvent(e);
    });
    source.addEventListener("open", () => {
      if (down) status(t("back"));
      down = false;
      document.body.dataset.stream = "open";
    });
    source.addEventListener("error", () => {
      down = true;
      document.body.dataset.stream = "down";
      status(t("lost"));
    });
    return source;
  }

  return { state, LIVE, liveState, api, query, serverNow, duration, when, el, party, status, follow };
})();
