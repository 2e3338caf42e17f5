// Drives the dashboard in Debian's Chromium (headless, through playwright-core) and prints what
// a person would see, as JSON, for the Rust test to compare with the API:
// {"kpis": {"<path>": value}, "at_risk", "renewals", "changes": [account ids], "at_risk_reasons": {id: text},
//  "account": {"id", "title", "reasons": {"<component>": "<reason>"}, "history_points"},
//  "signed_out": {...} (with "signIn"), "weight": {"html", "css", "js"}, "timing": {...},
//  "errors": [console errors and page errors]}.
// Input (stdin, JSON): {"url", "screenshot", "accountScreenshot", "userDataDir", "signIn"}.
// Usage: NODE_PATH=.tools/dashboard-browser/node_modules node check.js < input.json
"use strict";
const { chromium } = require("playwright-core");
const fs = require("fs");

const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

async function main() {
  const input = JSON.parse(fs.readFileSync(0, "utf8"));
  const context = await chromium.launchPersistentContext(input.userDataDir, {
    executablePath: input.executablePath || "/usr/bin/chromium",
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 900 },
  });
  const out = { errors: [], weight: { html: 0, css: 0, js: 0 } };
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.on("pageerror", (e) => out.errors.push(`pageerror: ${e.message}`));
    page.on("console", (m) => { if (m.type() === "error") out.errors.push(`console: ${m.text()}`); });
    page.on("response", async (response) => {
      const type = response.request().resourceType();
      const kind = { document: "html", stylesheet: "css", script: "js" }[type];
      if (!kind || response.status() !== 200) return;
      try { out.weight[kind] = Math.max(out.weight[kind], (await response.body()).length); } catch (_) { /* redirect */ }
    });
    await page.goto(input.url, { waitUntil: "load" });

    if (input.signIn) {
      // Signed out: the sign-in button, and not one figure or account on the page.
      await page.waitForSelector("#sign-in:not([hidden])", { timeout: 15000 });
      out.signed_out = await page.evaluate(() => ({
        kpis: document.querySelectorAll("[data-kpi]").length,
        accounts: document.querySelectorAll("[data-account-id]").length,
        status: document.getElementById("status").textContent,
        overview_hidden: document.getElementById("overview").hidden,
      }));
      await page.click("#sign-in");
    }

    await page.waitForSelector("body[data-ready=true]", { timeout: 20000 });
    out.timing = await page.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0];
      const paint = performance.getEntriesByName("first-contentful-paint")[0];
      const rendered = performance.getEntriesByName("foresight-rendered")[0];
      const figures = performance.getEntriesByName("foresight-figures")[0];
      return {
        dom_content_loaded_ms: nav ? nav.domContentLoadedEventEnd : null,
        first_contentful_paint_ms: paint ? paint.startTime : null,
        figures_rendered_ms: figures ? figures.startTime : null,
        data_rendered_ms: rendered ? rendered.startTime : null,
      };
    });
    Object.assign(out, await page.evaluate(() => {
      const ids = (selector) => [...document.querySelectorAll(`${selector} tr[data-account-id]`)].map((r) => r.dataset.accountId);
      const kpis = {};
      for (const node of document.querySelectorAll("[data-kpi]")) kpis[node.dataset.kpi] = JSON.parse(node.dataset.value);
      // The at-risk list's last cell: the top reason the page shows for each account.
      const atRiskReasons = Object.fromEntries([...document.querySelectorAll("#at-risk tr[data-account-id]")].map((r) => [r.dataset.accountId, r.lastElementChild.textContent]));
      return { kpis, at_risk: ids("#at-risk"), at_risk_reasons: atRiskReasons, renewals: ids("#renewals"), changes: ids("#changes"), url: location.href };
    }));
    if (input.screenshot) {
      await page.screenshot({ path: input.screenshot, fullPage: true });
      // The top of the page alone: the small picture the README shows (docs/dashboard.png).
      await page.screenshot({ path: input.screenshot.replace(/\.png$/, "-top.png"), clip: { x: 0, y: 0, width: 1280, height: 1060 } });
    }

    // On a phone's width the page reflows: nothing wider than the screen but scrolling tables.
    if (input.screenshot) {
      await page.setViewportSize({ width: 390, height: 844 });
      out.phone = await page.evaluate(() => ({ overflow: document.documentElement.scrollWidth > window.innerWidth, width: document.documentElement.scrollWidth }));
      await page.screenshot({ path: input.screenshot.replace(/\.png$/, "-phone.png") });
      await page.setViewportSize({ width: 1280, height: 900 });
    }

    // A click on the first at-risk account opens its record; Escape closes it.
    const first = out.at_risk[0];
    if (first) {
      await page.click(`#at-risk button[data-account-id="${first}"]`);
      await page.waitForSelector("dialog#account[open] #breakdown tr td[data-reason]", { timeout: 10000 });
      out.account = await page.evaluate((id) => {
        const reasons = {};
        for (const cell of document.querySelectorAll("#breakdown td[data-reason]")) reasons[cell.dataset.reason] = cell.textContent;
        return {
          id,
          title: document.getElementById("account-title").textContent,
          reasons,
          history_points: document.querySelectorAll("#account-body polyline").length,
          sections: [...document.querySelectorAll("#account-body h3")].map((h) => h.textContent),
          focused: document.activeElement && document.activeElement.id,
          text: document.getElementById("account-body").textContent,
        };
      }, first);
      if (input.accountScreenshot) await page.screenshot({ path: input.accountScreenshot });
      await page.keyboard.press("Escape");
      out.account.closed_by_escape = await page.evaluate(() => !document.getElementById("account").open);
    }
  } finally {
    await context.close();
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((error) => {
  console.error(`check: ${error.stack || error}`);
  process.exit(1);
});
