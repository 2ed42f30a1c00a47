// The supervisor's wall: every line, its call, the call park, the day's
// counts — read once, then kept up to date by the server's changes (the
// lines that changed, the counts, the park: one message per burst).
// @ts-check
"use strict";

(() => {
  const { t, setLang, applyTexts } = i18n;
  const { state, liveState, api, query, serverNow, duration, el, party, status, follow } = common;

  const wall = { data: null, pending: false, reads: 0 };

  /** The element `id` of the page (a table, a select: whichever it is). */
  const byId = /** @type {(id: string) => any} */ ((id) => document.getElementById(id));

  function lineState(c) {
    if (!c) return t("free");
    const live = liveState(c.state);
    if (live === "parked") return t("parked", { slot: c.park_slot || "?" });
    return live === "talking" ? t("talking") : t("ringing");
  }

  function since(c) {
    return duration(serverNow() - (c.connect_at || c.setup_at));
  }

  function renderWall() {
    const d = wall.data;
    if (!d) return;
    byId("c-received").textContent = d.today.received;
    byId("c-missed").textContent = d.today.missed;
    byId("c-quick").textContent = d.today.answered_within_20s;
    const body = byId("lines").tBodies[0];
    body.replaceChildren();
    for (const l of d.lines) {
      const c = l.calls[0];
      body.append(el("tr", { "data-line": l.line, "data-state": c ? c.state : "FREE" },
        el("th", { scope: "row" }, l.line),
        el("td", {}, l.desks.join(", ")),
        el("td", {}, lineState(c)),
        el("td", {}, c ? party(c) : ""),
        el("td", { class: "timer" }, c ? since(c) : "")));
    }
    const park = byId("park");
    park.replaceChildren(...d.park.map((p) => el("li", { class: "call" },
      el("strong", {}, party(p.call)), " — ", t("onslot", { slot: p.call.park_slot }), " — ", p.line)));
    byId("no-park").hidden = d.park.length > 0;
    document.body.dataset.wallCursor = d.cursor;
  }

  /** Reads the whole wall, once at the start. */
  async function refresh() {
    if (wall.pending) return;
    wall.pending = true;
    try {
      wall.data = await api("/desk/api/wall");
      wall.reads += 1;
      document.body.dataset.wallReads = String(wall.reads);
      renderWall();
    } catch (e) {
      status(e.status === 403 ? t("notsupervisor") : e.message);
    } finally {
      wall.pending = false;
    }
  }

  /** A change the server sent: its lines replace the ones shown. */
  function changed(c) {
    const d = wall.data;
    if (!d) return;
    for (const l of c.lines) {
      const i = d.lines.findIndex((x) => x.line_id === l.line_id);
      if (i >= 0) d.lines[i] = l; else d.lines.push(l);
    }
    d.today = c.today;
    d.park = c.park;
    d.cursor = c.cursor;
    renderWall();
  }

  document.addEventListener("DOMContentLoaded", async () => {
    applyTexts();
    byId("lang").addEventListener("change", () => {
      setLang(byId("lang").value);
      renderWall();
    });
    let me;
    try {
      me = await api("/desk/api/me");
    } catch (_) {
      location.href = "/desk/";
      return;
    }
    state.skew = me.now - Date.now();
    byId("who").textContent = me.ident;
    if (!me.supervisor) {
      status(t("notsupervisor"));
      return;
    }
    await refresh();
    // From the wall's cursor on, its changes as they come.
    const source = follow("/desk/api/events?" + query({ scope: "all", view: "wall", cursor: wall.data ? wall.data.cursor : me.cursor }), changed, "wall");
    source.addEventListener("park", (m) => {
      if (!wall.data) return;
      wall.data.park = JSON.parse(m.data).park;
      renderWall();
    });
    setInterval(() => {
      for (const row of byId("lines").tBodies[0].rows) {
        const l = wall.data.lines.find((x) => x.line === row.dataset.line);
        if (l && l.calls[0]) row.cells[4].textContent = since(l.calls[0]);
      }
    }, 1000);
    document.body.dataset.ready = "1";
  });
})();
