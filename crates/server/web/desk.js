// The desk: log in, see the calls of the desk's lines live, act on them,
// dial, read the history.
// @ts-check
"use strict";

(() => {
  const { t, setLang, applyTexts, storedLang, lang } = i18n;
  const { state, liveState, api, query, serverNow, duration, when, el, party, status, follow } = common;

  const desk = {
    me: null,
    calls: new Map(), // callref → call
    history: [],
    rows: new Map(), // history key → [what it shows, its row]
    items: new Map(), // callref → [what it shows, its list item or banner]
    source: null,
  };

  /** The element `id` of the page (an input, a table, a form: whichever it is). */
  const $ = /** @type {(id: string) => any} */ ((id) => document.getElementById(id));

  /** What a call can have done to it now, by state and direction. */
  function actionsFor(c) {
    if (c.state === "ringing") return c.direction === "in" ? ["answer", "reject"] : ["hangup"];
    if (c.state === "talking") return ["hangup", "transfer", "park", "pause", "merge"];
    if (c.state === "parked") return ["unpark", "hangup"];
    return [];
  }

  // ---------------------------------------------------------------- the model

  /** A call as the calls route lists it. */
  function fromListed(line, c) {
    const shown = (desk.me.lines.find((l) => l.line === line) || {}).shown || line;
    return {
      callref: c.callref,
      line: shown,
      lineId: line,
      direction: c.direction,
      tel: c.direction === "in" ? c.caller : c.callee,
      name: c.name, company: c.company, record_url: c.record_url,
      state: liveState(c.state),
      setup_at: c.setup_at, connect_at: c.connect_at, slot: c.park_slot,
    };
  }

  /** An event of the stream: the call it is about, changed. */
  function onEvent(e) {
    let c = desk.calls.get(e.callref);
    if (!c) {
      if (e.event === "RELEASE" || e.event === "MISSED") {
        afterNextPaint(refreshHistory);
        return;
      }
      c = { callref: e.callref, setup_at: e.at, state: "ringing" };
      desk.calls.set(e.callref, c);
    }
    Object.assign(c, {
      line: e.line, lineId: e.line_id, direction: e.direction, tel: e.tel,
    });
    if (e.name || e.company) { c.name = e.name; c.company = e.company; }
    if (e.record_url) c.record_url = e.record_url;
    switch (e.event) {
      case "DIAL":
      case "RING":
        c.state = "ringing";
        if (e.event === "RING" && e.direction === "in") {
          notifyRing(c);
          afterPaint(e);
        }
        break;
      case "CONNECT":
      case "UNPARK":
        c.state = "talking";
        c.connect_at = c.connect_at || e.at;
        break;
      case "PARK":
        c.state = "parked";
        c.slot = e.slot;
        break;
      case "RELEASE":
      case "MISSED":
        // Over: in the history at once, not among the calls in progress.
        desk.calls.delete(c.callref);
        desk.ended = c.callref;
        afterNextPaint(refreshHistory);
        break;
    }
    render();
  }

  /**
   * `fn` once the frame being prepared is painted: the history's work never
   * holds back a banner or a call's new state.
   */
  function afterNextPaint(fn) {
    requestAnimationFrame(() => setTimeout(fn, 0));
  }

  /**
   * Once the banner is painted: a page that measures (the benchmark's)
   * defines `ctibridgePainted(event, epochMs)`.
   */
  function afterPaint(e) {
    const painted = /** @type {any} */ (window).ctibridgePainted;
    if (typeof painted !== "function") return;
    requestAnimationFrame(() => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => painted(e, Date.now());
      ch.port2.postMessage(0);
    });
  }

  // ---------------------------------------------------------------- rendering

  function stateText(c) {
    if (c.state === "parked") return t("parked", { slot: c.slot || "?" });
    return t(c.state);
  }

  function timerText(c) {
    const now = serverNow();
    if (c.connect_at) return duration(now - c.connect_at);
    return duration(now - c.setup_at);
  }

  function actionButton(c, op) {
    const can = desk.me.can.control;
    return el("button", {
      type: "button",
      class: op === "answer" ? "primary" : op === "hangup" || op === "reject" ? "danger" : "",
      "data-op": op,
      disabled: !can,
      title: can ? undefined : t("cannot", { provider: desk.me.can.provider }),
      "aria-label": `${t(op)} — ${party(c)}`,
      onclick: () => act(c, op),
    }, t(op));
  }

  function callItem(c) {
    const who = party(c);
    const head = el("div", { class: "call-head" },
      el("strong", { class: "who" }, c.direction === "in" ? t("callfrom", { who }) : t("callto", { who })),
      el("span", { class: "state", "data-state": c.state }, stateText(c)),
      el("span", { class: "timer", "data-timer": c.callref, "aria-label": t("duration") }, timerText(c)),
    );
    const li = el("li", { class: "call", "data-callref": c.callref, "data-state": c.state }, head);
    if (c.record_url) {
      li.append(el("a", { class: "record", href: c.record_url, target: "_blank", rel: "noopener noreferrer" }, t("openrecord")));
    }
    const actions = actionsFor(c);
    if (actions.length) {
      const bar = el("div", { class: "actions", role: "group", "aria-label": who });
      for (const op of actions) {
        if (op === "transfer") {
          const id = "to-" + c.callref;
          const input = el("input", { id, inputmode: "tel", autocomplete: "off", class: "to", placeholder: t("number") });
          bar.append(el("label", { for: id, class: "visually-hidden" }, t("transferto")), input);
        }
        if (op === "merge" && !otherTalking(c)) continue;
        bar.append(actionButton(c, op));
      }
      li.append(bar);
    }
    return li;
  }

  function otherTalking(c) {
    for (const o of desk.calls.values()) {
      if (o !== c && o.state === "talking" && o.lineId === c.lineId) return o;
    }
    return null;
  }

  /** What a call's item shows: it is built again only when this changes. */
  function itemShows(c) {
    const banner = c.state === "ringing" && c.direction === "in";
    return [banner, c.state, c.slot, c.tel, c.name, c.company, c.record_url, c.direction,
      c.state === "talking" && !!otherTalking(c), lang()].join("|");
  }

  /** A ringing incoming call's banner. */
  function bannerOf(c) {
    const who = party(c);
    const banner = el("div", { class: "banner", role: "alert", "data-callref": c.callref },
      el("span", { class: "banner-title", elementtiming: "ring " + c.callref }, t("callfrom", { who: c.name || c.tel || t("withheld") })),
      c.company ? el("span", { class: "banner-company" }, c.company) : null,
      el("span", { class: "banner-number" }, c.tel || t("withheld")),
      el("span", { class: "timer", "data-timer": c.callref }, timerText(c)),
      c.record_url ? el("a", { href: c.record_url, target: "_blank", rel: "noopener noreferrer" }, t("openrecord")) : null,
      actionButton(c, "answer"), actionButton(c, "reject"));
    banner.setAttribute("aria-label", t("callfrom", { who }));
    return banner;
  }

  /**
   * `parent`'s children made `nodes`, in order, moving only those out of
   * place: a node that stays keeps its focus, hover and the screen reader's
   * position.
   */
  function reconcile(parent, nodes) {
    const wanted = new Set(nodes);
    for (const child of [...parent.children]) if (!wanted.has(child)) child.remove();
    nodes.forEach((node, i) => {
      if (parent.children[i] !== node) parent.insertBefore(node, parent.children[i] || null);
    });
  }

  /**
   * The calls in progress and the ringing banners, from `desk.calls`. Each
   * call keeps its element while what it shows does not change (keyed by
   * call): a second call ringing leaves the focus on the first one's button.
   */
  function render() {
    // Where the focus was, to put it back on the same control of a call
    // whose element had to be built again.
    const active = /** @type {HTMLElement | null} */ (document.activeElement);
    const item = /** @type {HTMLElement | null} */ (active && active.closest && active.closest("[data-callref]"));
    const spot = item && {
      callref: item.dataset.callref,
      op: active.dataset.op,
      input: active.classList.contains("to"),
    };
    const typed = {};
    for (const input of $("calls").querySelectorAll("input.to")) typed[input.id] = input.value;
    const calls = [...desk.calls.values()].sort((a, b) => b.setup_at - a.setup_at);
    const items = new Map();
    const banners = [];
    const listed = [];
    for (const c of calls) {
      const shows = itemShows(c);
      const had = desk.items.get(c.callref);
      const banner = c.state === "ringing" && c.direction === "in";
      const node = had && had[0] === shows ? had[1] : banner ? bannerOf(c) : callItem(c);
      items.set(c.callref, [shows, node]);
      // A ringing call is its banner; the list, the calls under way.
      (banner ? banners : listed).push(node);
    }
    desk.items = items;
    reconcile($("banners"), banners);
    reconcile($("calls"), listed);
    $("banners").dataset.count = String(banners.length);
    for (const [id, v] of Object.entries(typed)) if ($(id) && !$(id).value) $(id).value = v;
    if (spot && (!document.activeElement || document.activeElement === document.body)) {
      const node = items.get(spot.callref);
      const again = node && (spot.op
        ? node[1].querySelector(`[data-op='${spot.op}']`)
        : spot.input ? node[1].querySelector("input.to") : null);
      if (again) again.focus();
    }
    $("no-calls").hidden = listed.length > 0;
  }

  function tick() {
    for (const span of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll("[data-timer]"))) {
      const c = desk.calls.get(span.dataset.timer);
      if (c) span.textContent = timerText(c);
    }
  }

  // ---------------------------------------------------------------- actions

  async function act(c, op) {
    const params = { telorg: c.lineId, callref: c.callref, op };
    if (op === "transfer") {
      const to = ($("to-" + c.callref) || {}).value || "";
      if (!to.trim()) { $("to-" + c.callref).focus(); return; }
      params.to = to;
    }
    if (op === "merge") {
      const other = otherTalking(c);
      if (!other) return;
      params.callref2 = other.callref;
    }
    try {
      await api("/desk/api/call?" + query(params), { method: "POST" });
      status("");
    } catch (e) {
      status(t("failed", { why: e.message }));
    }
  }

  async function dial(number) {
    const line = $("dial-line").value;
    const msg = $("dial-msg");
    msg.textContent = t("dialing", { n: number });
    msg.className = "message";
    try {
      await api("/desk/api/dial?" + query({ telorg: line, tel: number }), { method: "POST" });
      msg.textContent = t("dialed", { n: number });
    } catch (e) {
      msg.textContent = t("failed", { why: e.message });
      msg.className = "message error";
    }
  }

  // ---------------------------------------------------------------- history

  /** Calls of a line's history read at once; the newest read after a call. */
  const HISTORY_LIMIT = 200;
  const HISTORY_RECENT = 20;

  function historyKey(c) {
    return c.line + "|" + c.callref;
  }

  /**
   * The history of the desk's lines: all of it (`HISTORY_LIMIT` calls a
   * line), or with `recent` its newest calls merged into what is shown.
   */
  async function loadHistory(recent) {
    const limit = recent ? HISTORY_RECENT : HISTORY_LIMIT;
    const read = await Promise.all(desk.me.lines.map((l) =>
      api("/desk/api/history?" + query({ telorg: l.line, limit })).then((h) => h.calls, () => null)));
    const known = new Map(recent ? desk.history.map((c) => [historyKey(c), c]) : []);
    for (const calls of read) {
      if (!calls) continue;
      // More calls ended than were read: all of it again.
      if (recent && calls.length === limit && !calls.some((c) => known.has(historyKey(c)))) {
        return loadHistory(false);
      }
      for (const c of calls) known.set(historyKey(c), c);
    }
    if (!recent && read.every((calls) => !calls)) return; // kept as it was
    desk.history = [...known.values()]
      .sort((a, b) => b.setup_at - a.setup_at)
      .slice(0, HISTORY_LIMIT * desk.me.lines.length);
    renderHistory();
  }

  let historyLoading = null;
  let historyAgain = false;
  let historyWhole = false;

  /**
   * The history read again (the newest calls, or with `whole` all of it),
   * one read at a time: an older answer never overtakes a newer one.
   */
  function refreshHistory(whole) {
    if (whole === true) historyWhole = true;
    if (historyLoading) {
      historyAgain = true;
      return historyLoading;
    }
    historyLoading = (async () => {
      do {
        historyAgain = false;
        const all = historyWhole;
        historyWhole = false;
        await loadHistory(!all);
      } while (historyAgain);
      historyLoading = null;
    })();
    return historyLoading;
  }

  function kindOf(c) {
    if (c.direction === "out") return "made";
    return c.state === "missed" ? "missed" : "received";
  }

  function outcomeOf(c) {
    if (c.state === "missed") return c.direction === "out" ? t("unanswered") : t("missedcall");
    if (c.state === "release") return t("answered");
    return t("inprogress");
  }

  function renderHistory() {
    const q = $("hist-q").value.trim().toLowerCase();
    const kind = $("hist-kind").value;
    const body = $("history").tBodies[0];
    const rows = desk.history.filter((c) => {
      if (kind && kindOf(c) !== kind) return false;
      if (!q) return true;
      return [c.tel, c.name, c.company].some((v) => v && v.toLowerCase().includes(q));
    });
    const used = new Map();
    body.replaceChildren(...rows.map((c) => {
      const key = historyKey(c);
      const shows = [c.state, c.tel, c.name, c.company, c.ringing_ms, c.talk_ms, c.setup_at].join("|");
      const had = desk.rows.get(key);
      const row = had && had[0] === shows ? had[1] : historyRow(c);
      used.set(key, [shows, row]);
      return row;
    }));
    desk.rows = used;
    if (desk.ended) {
      // A short cue on the call that just ended: it moved here.
      const row = body.querySelector(`tr[data-callref='${CSS.escape(desk.ended)}']`);
      if (row) {
        row.classList.add("fresh");
        desk.ended = null;
      }
    }
    $("no-history").hidden = rows.length > 0;
    updateBadge();
  }

  /** A call's row of the history table. */
  function historyRow(c) {
    const number = c.tel;
    const who = number
      ? el("a", { href: "tel:" + number, class: "tel", "aria-label": t("callback", { n: number }) }, number)
      : t("withheld");
    const durations = [];
    if (c.ringing_ms != null) durations.push(t("rang", { d: duration(c.ringing_ms) }));
    if (c.talk_ms != null) durations.push(t("talked", { d: duration(c.talk_ms) }));
    return el("tr", { "data-callref": c.callref, "data-kind": kindOf(c) },
      el("td", {}, when(c.setup_at)),
      el("td", {}, t(kindOf(c))),
      el("td", {}, c.name ? el("span", { class: "name" }, c.name + (c.company ? ` (${c.company})` : "") + " ") : null, who),
      el("td", {}, outcomeOf(c)),
      el("td", {}, durations.join(", ")));
  }

  function unseenMissed() {
    const seen = desk.me.missed_seen || 0;
    return desk.history.filter((c) => kindOf(c) === "missed" && c.setup_at > seen);
  }

  function updateBadge() {
    const n = unseenMissed().length;
    const badge = $("missed-badge");
    badge.hidden = n === 0;
    badge.textContent = t("missedcount", { n });
    badge.setAttribute("aria-label", t("missedlabel", { n }));
  }

  /**
   * The missed calls shown are seen: the badge is cleared, here and (kept by
   * the server) in the desk's other browsers.
   */
  async function markSeen() {
    const missed = unseenMissed();
    if (!missed.length) return;
    const newest = Math.max(...missed.map((c) => c.setup_at));
    desk.me.missed_seen = newest;
    updateBadge();
    try {
      const kept = await api("/desk/api/seen?" + query({ at: newest }), { method: "POST" });
      desk.me.missed_seen = Math.max(desk.me.missed_seen, kept.missed_seen);
    } catch (e) {
      status(t("failed", { why: e.message }));
    }
  }

  // ---------------------------------------------------------------- notifications

  // The browser's answer about notifications, read once the page is ready
  // and again when it changes: reading it asks the browser's process, which
  // a ringing call does not wait for.
  let notifications = "default";

  function notifyRing(c) {
    if (notifications !== "granted") return;
    try {
      new Notification(t("callfrom", { who: c.name || c.tel || t("withheld") }), {
        body: party(c), tag: c.callref,
      });
    } catch (_) { /* not in this context */ }
  }

  function offerNotifications() {
    if (!("Notification" in window)) return;
    const read = () => {
      notifications = Notification.permission;
      $("notify-ask").hidden = notifications !== "default";
    };
    read();
    $("notify-btn").addEventListener("click", async () => {
      await Notification.requestPermission();
      read();
    });
    if (navigator.permissions) {
      navigator.permissions.query({ name: "notifications" })
        .then((p) => { p.onchange = read; }, () => {});
    }
  }

  // ---------------------------------------------------------------- start

  /**
   * The desk, for `embedded` (what the server put in the page for a
   * logged-in desk) or else for what `/desk/api/me` answers.
   */
  async function start(embedded) {
    let me = embedded && embedded.ident ? embedded : null;
    // `now` is the server's clock when the page was answered.
    const nav = /** @type {PerformanceNavigationTiming | undefined} */ (performance.getEntriesByType("navigation")[0]);
    let localNow = embedded && nav ? performance.timeOrigin + nav.responseStart : Date.now();
    if (!me) {
      try {
        me = await api("/desk/api/me");
        localNow = Date.now();
      } catch (e) {
        showLogin();
        return;
      }
    }
    desk.me = me;
    // The language this desk chose, in any browser of this one's.
    const chosen = storedLang(me.ident);
    if (chosen && chosen !== lang()) setLang(chosen, me.ident);
    state.csrf = me.csrf;
    state.skew = me.now - localNow;
    $("login").hidden = true;
    $("desk").hidden = false;
    $("logout").hidden = false;
    $("wall-link").hidden = !me.supervisor;
    $("who").textContent = me.ident + " — " + me.lines.map((l) => l.shown).join(", ");
    const select = $("dial-line");
    select.replaceChildren(...me.lines.map((l) => el("option", { value: l.line }, l.shown)));
    $("dial-form").querySelector("button").disabled = !me.can.dial;
    // The calls under way come with `me`: the page is usable at once.
    for (const l of me.lines) {
      for (const c of l.calls || []) desk.calls.set(c.callref, fromListed(l.line, c));
    }
    render();
    desk.source = follow("/desk/api/events?" + query({ cursor: me.cursor }), onEvent);
    desk.source.addEventListener("error", () => {
      if (desk.source.readyState === EventSource.CLOSED) location.reload();
    });
    setInterval(tick, 1000);
    document.body.dataset.ready = "1";
    performance.mark("ctibridge-ready");
    offerNotifications();
    await refreshHistory(true);
    document.body.dataset.history = "1";
  }

  /**
   * The login form; with `noDesks` (a server with no `<desk>`), why nobody
   * can log in, said before anyone types.
   */
  function showLogin(noDesks) {
    $("desk").hidden = true;
    $("logout").hidden = true;
    $("login").hidden = false;
    $("no-desks").hidden = !noDesks;
    for (const c of $("login-form").elements) c.disabled = !!noDesks;
    if (!noDesks) $("ident").focus();
    document.body.dataset.ready = "login";
  }

  /** The page's texts again, in the language just chosen. */
  function relabel() {
    desk.items = new Map();
    desk.rows = new Map();
    if (!desk.me) return;
    render();
    renderHistory();
  }

  document.addEventListener("DOMContentLoaded", () => {
    applyTexts();
    $("login-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      $("login-error").textContent = "";
      try {
        await api("/desk/login", {
          method: "POST",
          form: { ident: $("ident").value, secret: $("secret").value },
        });
        $("secret").value = "";
        await start();
      } catch (e) {
        $("login-error").textContent = e.status === 401 ? t("badlogin") : e.message;
      }
    });
    $("logout").addEventListener("click", async () => {
      try { await api("/desk/logout", { method: "POST" }); } catch (_) { /* gone anyway */ }
      location.reload();
    });
    $("dial-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const n = $("dial-number").value.trim();
      if (n) dial(n);
    });
    $("hist-q").addEventListener("input", renderHistory);
    $("hist-kind").addEventListener("change", () => {
      renderHistory();
      if ($("hist-kind").value === "missed") markSeen();
    });
    // The badge shows the missed calls, which are then seen.
    $("missed-badge").addEventListener("click", () => {
      $("hist-kind").value = "missed";
      renderHistory();
      markSeen();
      $("history").focus();
    });
    // tel: links of the page dial through the bridge.
    document.addEventListener("click", (ev) => {
      const target = /** @type {Element} */ (ev.target);
      const a = target.closest && target.closest("a[href^='tel:']");
      if (!a || !desk.me) return;
      ev.preventDefault();
      const n = decodeURIComponent(a.getAttribute("href").slice(4));
      $("dial-number").value = n;
      dial(n);
    });
    $("lang").addEventListener("change", () => {
      setLang($("lang").value, desk.me && desk.me.ident);
      relabel();
    });
    // The server puts the logged-in desk's data in the page, or says that
    // nobody is logged in (and whether anyone can be): no request to learn it.
    const data = $("me-data");
    const embedded = data && data.textContent ? JSON.parse(data.textContent) : null;
    if (data) data.remove();
    if (embedded && embedded.ident) start(embedded);
    else showLogin(embedded && embedded.desks === false);
  });
})();
