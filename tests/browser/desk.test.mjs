// The browser desk end to end, in Debian's chromium driven by
// playwright-core, against `ctibridge serve` with its simulator (started by
// tests/browser.rs, which passes BASE, CHROMIUM and SHOTS). Every wait is
// on the page's state or the server's answer; none on time.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";

const BASE = process.env.BASE;
// A `serve --sim` with no desk.
const BARE = process.env.BARE;
const SHOTS = process.env.SHOTS;
const WAIT = { timeout: 20000 };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
let failed = false;
const errors = [];

async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed = true;
    console.log(`FAIL ${name}: ${e.stack || e}`);
  }
}

/** A simulator route: the other party, the network. */
async function sim(path) {
  const r = await fetch(BASE + path, { method: "POST" });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  return body;
}

async function newPage(locale) {
  const ctx = await browser.newContext({ locale, viewport: { width: 1000, height: 860 } });
  const page = await ctx.newPage();
  page.on("pageerror", (e) => errors.push(e.message));
  return page;
}

async function login(page, ident, secret) {
  await page.goto(BASE + "/desk/");
  await page.waitForSelector("body[data-ready='login']", WAIT);
  await page.fill("#ident", ident);
  await page.fill("#secret", secret);
  await page.click("#login-form button[type=submit]");
}

const alice = await newPage("fr-FR");
const call = (state) => alice.locator(`#calls .call[data-state='${state}']`);

/**
 * A call that ended: in `page`'s history at once, and no longer among the
 * calls in progress nor the banners.
 */
async function ended(page, callref) {
  // Gone from the calls in progress within the wait (an ended call used
  // to stay there 30 s, past it).
  await page.waitForFunction(
    (c) => !document.querySelector(`#calls [data-callref='${c}'], #banners [data-callref='${c}']`),
    callref, WAIT);
  await page.locator(`#history tr[data-callref='${callref}']`).waitFor(WAIT);
}

await step("the login page logs no error, and a server without desks says so before anyone types", async () => {
  const page = await newPage("fr-FR");
  const logged = [];
  page.on("console", (m) => { if (m.type() === "error") logged.push(m.text()); });
  await page.goto(BASE + "/desk/");
  await page.waitForSelector("body[data-ready='login']", WAIT);
  assert.equal(await page.locator("#no-desks").isHidden(), true);
  assert.deepEqual(logged, []);
  // `serve --sim` with no <desk>: nobody can log in, and the page says why.
  await page.goto(BARE + "/");
  await page.waitForSelector("body[data-ready='login']", WAIT);
  assert.equal(new URL(page.url()).pathname, "/desk/");
  assert.match(await page.locator("#no-desks").textContent(), /aucun poste déclaré.*<desk>/);
  assert.equal(await page.locator("#ident").isDisabled(), true);
  assert.deepEqual(logged, []);
  await page.context().close();
});

await step("a wrong secret is refused, in French", async () => {
  await login(alice, "alice", "not-the-secret");
  await alice.waitForSelector("#login-error:has-text('Identifiant ou secret incorrect.')", WAIT);
  assert.equal(await alice.locator("#login-h").textContent(), "Connexion");
  assert.equal(await alice.locator("#desk").isHidden(), true);
});

await step("Alice logs in", async () => {
  await alice.fill("#secret", "alice-secret-7701");
  await alice.click("#login-form button[type=submit]");
  await alice.waitForSelector("body[data-ready='1']", WAIT);
  assert.match(await alice.locator("#who").textContent(), /alice — 7701/);
});

await step("seed 002, outgoing: Alice calls Bob from the page, Bob answers, hangs up", async () => {
  await sim("/sim/dial?answer=wait");
  await alice.fill("#dial-number", "99 02");
  await alice.click("#dial-form button[type=submit]");
  await call("ringing").waitFor(WAIT);
  const text = await call("ringing").textContent();
  assert.match(text, /Appel vers Bob Martin \(Martin & Fils\) — 9902/);
  const callref = await call("ringing").getAttribute("data-callref");
  await sim(`/sim/act?callref=${callref}&op=answer`);
  await alice.locator(`.call[data-callref='${callref}'][data-state='talking']`).waitFor(WAIT);
  assert.match(await alice.locator(`.call[data-callref='${callref}'] .state`).textContent(), /En communication/);
  await sim(`/sim/act?callref=${callref}&op=hangup`);
  await ended(alice, callref);
  assert.match(await alice.locator(`#history tr[data-callref='${callref}']`).textContent(), /Répondu/);
});

await step("a number the dial engine cannot read is refused before anything is sent", async () => {
  await alice.fill("#dial-number", "03 88 XX");
  await alice.click("#dial-form button[type=submit]");
  await alice.waitForSelector("#dial-msg.error", WAIT);
  assert.match(await alice.locator("#dial-msg").textContent(), /Refusé : tel:/);
});

let incoming;
await step("seed 002, incoming: Marie calls, the banner names her, Alice answers and hangs up", async () => {
  const before = await alice.locator("#history").boundingBox();
  incoming = (await sim("/sim/call?from=0612345678&to=7701&answer=wait")).callref;
  const banner = alice.locator(`.banner[data-callref='${incoming}']`);
  await banner.waitFor(WAIT);
  // The ring moves nothing of the page under the hand (a number of the
  // history about to be clicked would become another).
  assert.deepEqual(await alice.locator("#history").boundingBox(), before);
  assert.match(await banner.textContent(), /Appel de Marie Dupont/);
  assert.match(await banner.textContent(), /Dupont SA/);
  assert.match(await banner.textContent(), /0612345678/);
  assert.equal(await banner.locator("a").getAttribute("href"), "https://erp.example/tiers/T0001");
  await banner.getByRole("button", { name: /^Décrocher/ }).click();
  const row = alice.locator(`.call[data-callref='${incoming}'][data-state='talking']`);
  await row.waitFor(WAIT);
  assert.equal(await alice.locator(".banner").count(), 0);
  // The timer ticks: it changes while the call goes on.
  const first = await row.locator(".timer").textContent();
  await alice.waitForFunction(
    ([sel, was]) => document.querySelector(sel)?.textContent !== was,
    [`.call[data-callref='${incoming}'] .timer`, first], WAIT);
  if (SHOTS) await alice.screenshot({ path: `${SHOTS}/desk.png` });
  await row.getByRole("button", { name: /^Raccrocher/ }).click();
  await ended(alice, incoming);
});

const chef = await newPage("fr-FR");
// The wall is read once; after that the server sends it its changes.
let wallReads = 0;
chef.on("request", (r) => { if (new URL(r.url()).pathname === "/desk/api/wall") wallReads += 1; });
await step("the supervisor's wall shows every line and counts the day", async () => {
  await login(chef, "chef", "chef-secret-7700");
  await chef.waitForSelector("body[data-ready='1']", WAIT);
  await chef.click("#wall-link");
  await chef.waitForSelector("body[data-ready='1'] #lines tbody tr", WAIT);
  assert.equal(await chef.locator("#lines tbody tr").count(), 2);
  assert.equal(await chef.locator("#c-received").textContent(), "1");
});

await step("a transfer: the call goes to 7700, ringing on the wall", async () => {
  const c = (await sim("/sim/call?from=0612345678&to=7701&answer=wait")).callref;
  await alice.locator(`.banner[data-callref='${c}']`).getByRole("button", { name: /^Décrocher/ }).click();
  const row = alice.locator(`.call[data-callref='${c}'][data-state='talking']`);
  await row.waitFor(WAIT);
  await row.locator("input.to").fill("7700");
  await row.getByRole("button", { name: /^Transférer/ }).click();
  await ended(alice, c);
  await chef.waitForSelector("#lines tr[data-line='7700'][data-state='SETUP']", WAIT);
  assert.match(await chef.locator("#lines tr[data-line='7700']").textContent(), /Marie Dupont/);
  // The call came in: counted from the changes, as the server counts it.
  await chef.waitForFunction(() => Number(document.querySelector("#c-received")?.textContent) > 1, null, WAIT);
});

await step("a park and its taking back, the park on the wall", async () => {
  const c = (await sim("/sim/call?from=0699887766&to=7701&answer=wait")).callref;
  await alice.locator(`.banner[data-callref='${c}']`).getByRole("button", { name: /^Décrocher/ }).click();
  const row = alice.locator(`.call[data-callref='${c}']`);
  await alice.locator(`.call[data-callref='${c}'][data-state='talking']`).waitFor(WAIT);
  await row.getByRole("button", { name: /^Parquer/ }).click();
  await alice.locator(`.call[data-callref='${c}'][data-state='parked']`).waitFor(WAIT);
  assert.match(await row.locator(".state").textContent(), /En attente \(place /);
  await chef.waitForSelector("#park li", WAIT);
  assert.match(await chef.locator("#park").textContent(), /0699887766/);
  if (SHOTS) await chef.screenshot({ path: `${SHOTS}/wall.png` });
  await row.getByRole("button", { name: /^Reprendre/ }).click();
  await alice.locator(`.call[data-callref='${c}'][data-state='talking']`).waitFor(WAIT);
  await chef.waitForSelector("#no-park:not([hidden])", WAIT);
  await row.getByRole("button", { name: /^Raccrocher/ }).click();
  await ended(alice, c);
  await chef.waitForSelector("#lines tr[data-line='7701'][data-state='FREE']", WAIT);
  // The counts the page kept from the changes are the server's own.
  const counts = await chef.evaluate(async () => (await (await fetch("/desk/api/wall")).json()).today);
  await chef.waitForFunction((n) => document.querySelector("#c-received")?.textContent === String(n), counts.received, WAIT);
  assert.equal(await chef.locator("#c-missed").textContent(), String(counts.missed));
  assert.equal(await chef.locator("#c-quick").textContent(), String(counts.answered_within_20s));
  assert.equal(wallReads, 2, "read once by the page (and once here), never again at an event");
});

await step("a missed call: in the history, the badge, cleared when seen", async () => {
  const c = (await sim("/sim/call?from=0611223344&to=7701&answer=0")).callref;
  await alice.locator(`#history tr[data-callref='${c}'][data-kind='missed']`).waitFor(WAIT);
  await alice.waitForSelector("#missed-badge:not([hidden])", WAIT);
  assert.match(await alice.locator("#missed-badge").textContent(), /1 manqué/);
  await alice.click("#missed-badge");
  await alice.locator("#missed-badge").waitFor({ state: "hidden", ...WAIT });
  assert.equal(await alice.locator("#hist-kind").inputValue(), "missed");
  assert.equal(await alice.locator("#history tbody tr").count(), 1);
  // Seen stays seen: after a reload, and in another browser of the desk.
  await alice.reload();
  await alice.waitForSelector("body[data-ready='1']", WAIT);
  await alice.waitForSelector("body[data-history='1']", WAIT);
  assert.equal(await alice.locator("#missed-badge").isHidden(), true);
  const other = await newPage("fr-FR");
  await login(other, "alice", "alice-secret-7701");
  await other.waitForSelector("body[data-history='1']", WAIT);
  await other.locator(`#history tr[data-callref='${c}']`).waitFor(WAIT);
  assert.equal(await other.locator("#missed-badge").isHidden(), true);
  await other.context().close();
  // Search, then a number clicked calls it back through the bridge.
  await alice.selectOption("#hist-kind", "");
  await alice.fill("#hist-q", "Dupont");
  const rows = await alice.locator("#history tbody tr").count();
  assert.ok(rows >= 2, `rows for Dupont: ${rows}`);
  for (const t of await alice.locator("#history tbody tr").allTextContents()) assert.match(t, /Dupont/);
  await alice.fill("#hist-q", "");
  await sim("/sim/dial?answer=wait");
  await alice.locator(`#history tr[data-callref='${c}'] a[href^='tel:']`).click();
  await alice.waitForSelector("#calls .call[data-state='ringing']", WAIT);
  assert.match(await alice.locator("#calls .call[data-state='ringing']").textContent(), /0611223344/);
  const out = await alice.locator("#calls .call[data-state='ringing']").getAttribute("data-callref");
  await sim(`/sim/act?callref=${out}&op=hangup`);
  await ended(alice, out);
});

await step("a dropped event stream is resumed with nothing missed", async () => {
  await sim("/sim/streams?state=down");
  await alice.waitForSelector("body[data-stream='down']", WAIT);
  const c = (await sim("/sim/call?from=0388202020&to=7701&answer=wait")).callref;
  await sim("/sim/streams?state=up");
  await alice.locator(`.banner[data-callref='${c}']`).waitFor(WAIT);
  await alice.waitForSelector("body[data-stream='open']", WAIT);
  // Resumed from the last event had (Last-Event-ID), not from the start.
  assert.equal(await alice.locator("body").getAttribute("data-repeats"), null);
  await alice.locator(`.banner[data-callref='${c}']`).getByRole("button", { name: /^Rejeter/ }).click();
  await ended(alice, c);
});

await step("a desktop notification for a ringing call, asked politely", async () => {
  // Not asked on load: a button offers it.
  assert.equal(await alice.locator("#notify-ask").isVisible(), true);
  // A browser where the user said yes (the Notification API recorded).
  const ctx = await browser.newContext({ locale: "fr-FR" });
  const page = await ctx.newPage();
  await page.addInitScript(() => {
    window.__notes = [];
    window.Notification = class {
      static get permission() { return "granted"; }
      static requestPermission() { return Promise.resolve("granted"); }
      constructor(title, options) { window.__notes.push([title, options && options.body]); }
    };
  });
  await login(page, "alice", "alice-secret-7701");
  await page.waitForSelector("body[data-ready='1']", WAIT);
  assert.equal(await page.locator("#notify-ask").isVisible(), false);
  const c = (await sim("/sim/call?from=0612345678&to=7701&answer=wait")).callref;
  await page.locator(`.banner[data-callref='${c}']`).waitFor(WAIT);
  await page.waitForFunction(() => window.__notes.length > 0, null, WAIT);
  const notes = await page.evaluate(() => window.__notes);
  assert.equal(notes[0][0], "Appel de Marie Dupont");
  assert.match(notes[0][1], /Dupont SA/);
  await page.locator(`.banner[data-callref='${c}']`).getByRole("button", { name: /^Rejeter/ }).click();
  await ended(page, c);
  await ctx.close();
});

await step("English for an English browser", async () => {
  const en = await newPage("en-US");
  await en.goto(BASE + "/desk/");
  await en.waitForSelector("body[data-ready='login']", WAIT);
  assert.equal(await en.locator("#login-h").textContent(), "Log in");
  assert.equal(await en.locator("html").getAttribute("lang"), "en");
  await en.fill("#ident", "alice");
  await en.fill("#secret", "alice-secret-7701");
  await en.click("#login-form button[type=submit]");
  await en.waitForSelector("body[data-ready='1']", WAIT);
  assert.equal(await en.locator("#calls-h").textContent(), "Calls in progress");
  assert.equal(await en.locator("#dial-form button[type=submit]").textContent(), "Call");
  await en.click("#logout");
  await en.waitForSelector("body[data-ready='login']", WAIT);
});

await step("a second call ringing leaves the focus on the first one's answer button", async () => {
  const a = (await sim("/sim/call?from=0612345678&to=7701&answer=wait")).callref;
  const answerA = alice.locator(`.banner[data-callref='${a}'] [data-op='answer']`);
  await answerA.waitFor(WAIT);
  await answerA.focus();
  const b = (await sim("/sim/call?from=0699887766&to=7701&answer=wait")).callref;
  await alice.locator(`.banner[data-callref='${b}']`).waitFor(WAIT);
  const focused = await alice.evaluate(() => {
    const f = document.activeElement;
    const item = f && f.closest("[data-callref]");
    return item ? [item.dataset.callref, f.dataset.op] : [null, f && f.tagName];
  });
  assert.deepEqual(focused, [a, "answer"]);
  // Enter answers the call the focus is on.
  await alice.keyboard.press("Enter");
  await alice.locator(`.call[data-callref='${a}'][data-state='talking']`).waitFor(WAIT);
  // And a talking call's buttons keep the focus when another call changes.
  const hangupA = alice.locator(`.call[data-callref='${a}'] [data-op='hangup']`);
  await hangupA.focus();
  await alice.locator(`.banner[data-callref='${b}'] [data-op='reject']`).evaluate((b) => b.click());
  await ended(alice, b);
  assert.equal(await hangupA.evaluate((e) => e === document.activeElement), true);
  await alice.keyboard.press("Enter");
  await ended(alice, a);
});

await step("eight calls ringing at 1366×768: every banner can be reached and answered", async () => {
  const ctx = await browser.newContext({ locale: "fr-FR", viewport: { width: 1366, height: 768 } });
  const page = await ctx.newPage();
  page.on("pageerror", (e) => errors.push(e.message));
  await login(page, "alice", "alice-secret-7701");
  await page.waitForSelector("body[data-ready='1']", WAIT);
  const refs = [];
  for (let i = 0; i < 8; i++) {
    refs.push((await sim(`/sim/call?from=06123456${10 + i}&to=7701&answer=wait`)).callref);
  }
  await page.waitForSelector("#banners[data-count='8']", WAIT);
  // The oldest is the last of the stack: scrolled to, it is in the window.
  const oldest = page.locator(`.banner[data-callref='${refs[0]}'] [data-op='answer']`);
  await oldest.scrollIntoViewIfNeeded(WAIT);
  const box = await oldest.boundingBox();
  assert.ok(box && box.y >= 0 && box.y + box.height <= 768, `the oldest banner's button is at ${JSON.stringify(box)}`);
  await oldest.click(WAIT);
  await page.locator(`.call[data-callref='${refs[0]}'][data-state='talking']`).waitFor(WAIT);
  for (const r of refs) await sim(`/sim/act?callref=${r}&op=hangup`);
  for (const r of refs) await ended(page, r);
  // The history, now long, comes compressed as the page's files do.
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().includes("/desk/api/history") && r.url().includes("limit=200"), WAIT),
    page.reload(),
  ]);
  assert.equal((await resp.allHeaders())["content-encoding"], "gzip");
  await ctx.close();
});

await step("the language is chosen in the page and kept for the desk", async () => {
  await alice.selectOption("#lang", "en");
  assert.equal(await alice.locator("#calls-h").textContent(), "Calls in progress");
  assert.equal(await alice.locator("html").getAttribute("lang"), "en");
  await alice.waitForFunction(() => /Answered|Missed|In progress/.test(document.querySelector("#history tbody").textContent), null, WAIT);
  await alice.reload();
  await alice.waitForSelector("body[data-ready='1']", WAIT);
  assert.equal(await alice.locator("#dial-form button[type=submit]").textContent(), "Call");
  assert.equal(await alice.locator("#lang").inputValue(), "en");
  await alice.selectOption("#lang", "fr");
  assert.equal(await alice.locator("#calls-h").textContent(), "Appels en cours");
});

await step("the focus ring stands out: at least 3:1 against the page", async () => {
  const ratio = await alice.evaluate(() => {
    const b = document.querySelector("#dial-form button[type=submit]");
    b.focus();
    const rgb = (c) => c.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number);
    const lum = ([r, g, bl]) => {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(bl);
    };
    const ring = lum(rgb(getComputedStyle(b).outlineColor));
    const card = lum(rgb(getComputedStyle(b.closest(".card")).backgroundColor));
    const [hi, lo] = ring > card ? [ring, card] : [card, ring];
    return (hi + 0.05) / (lo + 0.05);
  });
  assert.ok(ratio >= 3, `focus ring contrast ${ratio.toFixed(2)}:1`);
});

await step("no script error on any page", async () => {
  assert.deepEqual(errors, []);
});

await browser.close();
console.log(failed ? "browser desk: FAILED" : "browser desk: all steps passed");
process.exit(failed ? 1 : 0);
