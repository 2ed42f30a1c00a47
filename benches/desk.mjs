// The browser desk's figures (issue 17), measured in Debian's chromium:
//   node benches/desk.mjs [ROUNDS]
// after `cargo build --release` and `npm ci` in tests/browser. It starts
// `target/release/ctibridge serve` with the simulator and 100 desks (lines
// 7000–7099) on a free loopback port, then:
//  - size: what the desk page transfers, compressed (navigation and files);
//  - load: page load to interactive (the desk's "ready" mark), 20 loads;
//  - paint: 10 desks open in the browser and 90 more following their
//    events over HTTP; each round rings all 100 lines at once; for each
//    banner painted in the browser, the time from the event's publication
//    at the server (its `at`) to the frame after the paint.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const { chromium } = await import(join(root, "tests/browser/node_modules/playwright-core/index.mjs"));
const ROUNDS = Number(process.argv[2] || 20);
// BURST=0: only the measured desk's line rings each round (the 99 others
// connected, quiet); else every line rings at once (the worst case).
const BURST = process.env.BURST !== "0";
const DESKS = Number(process.env.DESKS || 100);
const IN_BROWSER = Number(process.env.IN_BROWSER || 1);

const port = await new Promise((res) => {
  const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => res(p)); });
});
const BASE = `http://127.0.0.1:${port}`;
const dir = mkdtempSync(join(tmpdir(), "ctibridge-desk-bench-"));
let file = `<server>\n<simulator>1\n<listen>127.0.0.1:${port}\n<journal>journal.sqlite\n<rate>100000\n`;
for (let i = 0; i < DESKS; i++) {
  file += `<desk>\n<ident>desk${i}\n<secret>secret-of-desk-${i}\n<lines>${7000 + i}\n`;
}
writeFileSync(join(dir, "server_param.txt"), file);
chmodSync(join(dir, "server_param.txt"), 0o600);
const server = spawn(join(root, "target/release/ctibridge"), ["serve", "--server", join(dir, "server_param.txt")],
  { stdio: ["ignore", "ignore", "ignore"] });
for (let i = 0; ; i++) {
  try { await fetch(BASE + "/healthz"); break; } catch (_) {
    if (i > 200) throw new Error("the server did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function cookieOf(i) {
  const r = await fetch(BASE + "/desk/login", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: `ident=desk${i}&secret=secret-of-desk-${i}`,
  });
  return r.headers.get("set-cookie").split(";")[0];
}

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * p))]; };
// Each desk open here stands for one person's screen, in the foreground
// of their own machine: the browser is told not to slow pages down as
// background tabs.
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--disable-renderer-backgrounding", "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows"],
});

async function deskPage(i) {
  const ctx = await browser.newContext({ locale: "fr-FR" });
  const [name, value] = (await cookieOf(i)).split("=");
  await ctx.addCookies([{ name, value, url: BASE + "/desk/" }]);
  const page = await ctx.newPage();
  return page;
}

// Size and load, on desk 0: cold (a new browser context each time: no
// cache, a new renderer) and warm (the same page loaded again: the files
// cached, as at a desk all day).
const cold = [];
const warm = [];
let size = 0;
const readyOf = (page) => page.evaluate(() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const res = performance.getEntriesByType("resource");
  return [performance.getEntriesByName("ctibridge-ready")[0].startTime,
    nav.transferSize + res.filter((r) => !r.name.includes("/api/")).reduce((a, r) => a + r.transferSize, 0)];
});
for (let k = 0; k < 20; k++) {
  const page = await deskPage(0);
  await page.goto(BASE + "/desk/");
  await page.waitForSelector("body[data-ready='1']");
  const [ready, bytes] = await readyOf(page);
  cold.push(ready);
  size = bytes;
  if (k === 0) {
    for (let w = 0; w < 21; w++) {
      await page.goto(BASE + "/desk/");
      await page.waitForSelector("body[data-ready='1']");
      if (w > 0) warm.push((await readyOf(page))[0]);
    }
  }
  await page.context().close();
}
const loads = cold;

// 90 desks following their events over HTTP (as a browser's EventSource does).
const followers = [];
for (let i = IN_BROWSER; i < DESKS; i++) {
  const cookie = await cookieOf(i);
  const ctl = new AbortController();
  followers.push(ctl);
  fetch(BASE + "/desk/api/events", { headers: { Cookie: cookie }, signal: ctl.signal })
    .then(async (r) => { const reader = r.body.getReader(); for (;;) { const { done } = await reader.read(); if (done) break; } })
    .catch(() => {});
}
// 10 desks in the browser, each telling when a banner is painted.
const painted = [];
const waiters = new Map();
const pages = [];
for (let i = 0; i < IN_BROWSER; i++) {
  const page = await deskPage(i);
  await page.exposeFunction("ctibridgeReport", (callref, at, now) => {
    painted.push(now - at);
    const w = waiters.get(callref);
    if (w) { waiters.delete(callref); w(); }
  });
  await page.addInitScript(() => {
    window.ctibridgePainted = (e, now) => window.ctibridgeReport(e.callref, e.at, now);
  });
  await page.goto(BASE + "/desk/");
  await page.waitForSelector("body[data-ready='1']");
  pages.push(page);
}
// Each round: the calls ring (and wait), the measured banners are
// painted, then every call of the round is hung up and the page has
// shown it (a desk has a call or two at a time, not dozens).
for (let round = 0; round < ROUNDS; round++) {
  const waits = [];
  const calls = [];
  for (let i = 0; i < (BURST ? DESKS : IN_BROWSER); i++) {
    calls.push(fetch(`${BASE}/sim/call?from=0612345678&to=${7000 + i}&answer=wait`, { method: "POST" }).then((r) => r.json()));
  }
  const refs = await Promise.all(calls);
  for (let i = 0; i < IN_BROWSER; i++) {
    const callref = refs[i].callref;
    waits.push(new Promise((res) => { waiters.set(callref, res); }));
  }
  // Those painted before their waiter was set are counted already.
  await Promise.race([Promise.all(waits), new Promise((r) => setTimeout(r, 3000))]);
  waiters.clear();
  await Promise.all(refs.map((r) => fetch(`${BASE}/sim/act?callref=${r.callref}&op=hangup`, { method: "POST" })));
  for (const page of pages) await page.waitForFunction(() => !document.querySelector(".banner, .call[data-state='ringing']"));
}
for (const f of followers) f.abort();
await browser.close();
server.kill();
console.log(`desk page transferred: ${(size / 1024).toFixed(1)} KB compressed (goal < 100 KB)`);
console.log(`load to interactive, cold (new context), 20 loads: median ${pct(loads, 0.5).toFixed(1)} ms, p90 ${pct(loads, 0.9).toFixed(1)} ms, max ${Math.max(...loads).toFixed(1)} ms (goal < 200 ms)`);
console.log(`load to interactive, warm (files cached), 20 loads: median ${pct(warm, 0.5).toFixed(1)} ms, p90 ${pct(warm, 0.9).toFixed(1)} ms, max ${Math.max(...warm).toFixed(1)} ms (goal < 200 ms)`);
console.log(`event at the server → banner painted, ${DESKS} desks open (${IN_BROWSER} in the browser), ${BURST ? "every line ringing at once" : "only the measured line ringing"}, ${painted.length} banners: median ${pct(painted, 0.5)} ms, p99 ${pct(painted, 0.99)} ms, max ${Math.max(...painted)} ms (goal p99 < 50 ms)`);
