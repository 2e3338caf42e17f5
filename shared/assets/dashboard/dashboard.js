// Foresight dashboard: reads GET /kpis and GET /accounts… (with a bearer token when the runner
// asks for sign-in: authorization code + PKCE with the issuer of GET /dashboard/config) and
// draws the page. No build step, no library: the charts are small SVGs drawn here. Every figure
// carries its raw value in data-value so that tests compare it with the JSON it came from.
"use strict";

const MONTHS_SHOWN = 6;
const TOKEN_KEY = "foresight.token";
const PKCE_KEY = "foresight.pkce";
const params = new URLSearchParams(location.search);
// `?now=RFC3339` shows the portfolio as of that time (the API's own `now`); default: the clock.
const asOf = params.get("now");
let config = { auth: null };

// ---------- small helpers

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function fill(id, ...children) {
  const node = document.getElementById(id);
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
  return node;
}

const fractionDigits = {};
function money(minor, currency) {
  const code = (currency || "usd").toUpperCase();
  if (!(code in fractionDigits)) {
    try {
      fractionDigits[code] = new Intl.NumberFormat("en", { style: "currency", currency: code })
        .resolvedOptions().maximumFractionDigits;
    } catch (_) {
      fractionDigits[code] = 2;
    }
  }
  const major = minor / 10 ** fractionDigits[code];
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: code, maximumFractionDigits: 0 }).format(major);
  } catch (_) {
    return `${Math.round(major)} ${code}`;
  }
}

const percent = (fraction) => (fraction === null || fraction === undefined ? "–" : `${(fraction * 100).toFixed(1)} %`);
const day = (rfc3339) => (rfc3339 ? rfc3339.slice(0, 10) : "–");
const signed = (n) => (n > 0 ? `+${n}` : String(n));

function band(name) {
  const label = name || "unscored";
  return el("span", { class: `band band-${label}` }, label);
}

function monthOf(date) {
  return `${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, "0")}`;
}

function lastMonths(n) {
  const now = asOf ? new Date(asOf) : new Date();
  const months = [];
  for (let i = n - 1; i >= 0; i--) months.push(monthOf(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - i, 1))));
  return months;
}

function withNow(path) {
  if (!asOf) return path;
  return `${path}${path.includes("?") ? "&" : "?"}now=${encodeURIComponent(asOf)}`;
}

// ---------- the API, with the token

class SignInNeeded extends Error {}

async function api(path) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const response = await fetch(withNow(path), { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (response.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    throw new SignInNeeded("sign-in required");
  }
  if (!response.ok) throw new Error(`${path}: ${response.status} ${(await response.text()).slice(0, 200)}`);
  return response.json();
}

// Every account of a listing, page after page (the API answers at most 10,000 summaries, or
// 4 MB of them, at a time and names the next page's start in `next`).
async function allAccounts(path) {
  let accounts = [];
  let after = "";
  for (;;) {
    const page = await api(after ? `${path}&after=${encodeURIComponent(after)}` : path);
    accounts = accounts.concat(page.accounts);
    if (!page.next) return accounts;
    // Pages move forward by account id; a server that repeated one would loop.
    if (page.next <= after) throw new Error(`${path}: page after ${after} names ${page.next} next`);
    after = page.next;
  }
}

// ---------- sign-in: authorization code + PKCE (RFC 7636)

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString() {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

async function discovery() {
  const issuer = config.auth.issuer.replace(/\/$/, "");
  const response = await fetch(`${issuer}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`the identity provider answered ${response.status}`);
  return response.json();
}

const redirectUri = () => `${location.origin}${location.pathname}`;

async function signIn() {
  const provider = await discovery();
  const verifier = randomString();
  const state = randomString();
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, search: location.search }));
  const url = new URL(provider.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: config.auth.client_id,
    redirect_uri: redirectUri(),
    scope: "openid email profile",
    code_challenge: challenge,
    code_challenge_method: "S256",
    state,
  }).toString();
  location.assign(url.toString());
}

// Back from the identity provider with ?code=&state=: trade the code for a token.
async function finishSignIn() {
  const code = params.get("code");
  const pending = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "null");
  if (!code || !pending) return false;
  sessionStorage.removeItem(PKCE_KEY);
  if (params.get("state") !== pending.state) throw new Error("sign-in answer with an unknown state: start again");
  const provider = await discovery();
  const response = await fetch(provider.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: redirectUri(),
      client_id: config.auth.client_id,
      code_verifier: pending.verifier,
    }),
  });
  if (!response.ok) throw new Error(`the identity provider refused the code (${response.status})`);
  const tokens = await response.json();
  sessionStorage.setItem(TOKEN_KEY, tokenForApi(tokens));
  // Back to the address the user opened, without the code.
  location.replace(`${redirectUri()}${pending.search || ""}`);
  return true;
}

// The token the API's JWT check accepts: the one issued for its audience. Okta, Cognito and an
// Entra ID app with an API scope issue access tokens for it; Google's access tokens are opaque
// and Entra's default ones are for Microsoft Graph, but their ID tokens are JWTs for the client:
// with DashboardAudience set to the client id, the ID token is the one to send.
function tokenForApi(tokens) {
  const audiences = (jwt) => {
    try {
      const claims = JSON.parse(atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      return [].concat(claims.aud || []);
    } catch {
      return [];
    }
  };
  for (const token of [tokens.access_token, tokens.id_token]) {
    if (token && audiences(token).includes(config.auth.audience)) return token;
  }
  return tokens.access_token || tokens.id_token;
}

function askToSignIn(message) {
  document.getElementById("overview").hidden = true;
  document.getElementById("panels").hidden = true;
  document.getElementById("sign-in").hidden = false;
  document.getElementById("sign-out").hidden = true;
  status(message || "Sign in to see the portfolio.");
}

function status(message, isError) {
  const node = fill("status", message || "");
  node.className = isError ? "error" : "";
  node.hidden = !message;
}

// ---------- the page

const TILES = [
  ["mrr.end", "MRR", "money"],
  ["customers.end", "Customers", "count"],
  ["nrr_12m", "NRR (12 months)", "percent"],
  ["grr_12m", "GRR (12 months)", "percent"],
  ["logo_churn_rate", "Logo churn this month", "percent"],
  ["gross_mrr_churn_rate", "Gross MRR churn", "percent"],
  ["net_mrr_churn_rate", "Net MRR churn", "percent"],
  ["arpa", "ARPA", "money"],
  ["nps.score", "NPS", "count"],
  ["onboarding_completion_rate", "Onboarding completion", "percent"],
  ["expansion_rate", "Expansion rate", "percent"],
];

const pick = (object, path) => path.split(".").reduce((value, key) => (value == null ? value : value[key]), object);

function tiles(kpis) {
  return TILES.map(([path, label, kind]) => {
    const value = pick(kpis, path);
    const text = kind === "money" ? money(value, kpis.currency) : kind === "percent" ? percent(value) : value ?? "–";
    const note = path === "nps.score" ? `${kpis.nps.responses} responses` : path === "mrr.end" ? `start ${money(kpis.mrr.start, kpis.currency)}` : null;
    return el("div", {}, el("dt", {}, label), el("dd", { "data-kpi": path, "data-value": JSON.stringify(value ?? null) }, text, note && el("span", { class: "note" }, note)));
  });
}

const MOVES = [
  ["new", "New", "#116329"],
  ["expansion", "Expansion", "#4ac26b"],
  ["reactivation", "Reactivation", "#0550ae"],
  ["contraction", "Contraction", "#d4a72c"],
  ["churn", "Churn", "#a40e26"],
];

function mrrChart(series) {
  const currency = series.at(-1).kpis.currency;
  const up = series.map(({ kpis }) => kpis.mrr.new + kpis.mrr.expansion + kpis.mrr.reactivation);
  const down = series.map(({ kpis }) => kpis.mrr.contraction + kpis.mrr.churn);
  // Gains above the line, losses below, on one scale: the line sits where the largest of each fits.
  const [maxUp, maxDown] = [Math.max(1, ...up), Math.max(0, ...down)];
  const width = 960, plot = 170, left = 8, column = (width - left) / series.length, bar = column * 0.45;
  const scale = plot / (maxUp + maxDown), mid = 22 + maxUp * scale, height = 22 + plot + 24;
  const shapes = [svg("line", { x1: 0, x2: width, y1: mid, y2: mid, stroke: "#8c959f" })];
  series.forEach(({ month, kpis }, i) => {
    const x = left + i * column + (column - bar) / 2;
    let above = mid, below = mid;
    for (const [key, label, colour] of MOVES) {
      const value = Math.abs(kpis.mrr[key]);
      if (!value) continue;
      const h = Math.max(1, value * scale);
      const negative = key === "contraction" || key === "churn";
      const y = negative ? below : above - h;
      if (negative) below += h; else above -= h;
      shapes.push(svg("rect", { x, y, width: bar, height: h, fill: colour }, svg("title", {}, `${month} ${label}: ${money(kpis.mrr[key], currency)}`)));
    }
    shapes.push(svg("text", { x: x + bar / 2, y: height - 4, "text-anchor": "middle" }, month));
    shapes.push(svg("text", { x: x + bar / 2, y: Math.max(10, above - 4), "text-anchor": "middle" }, money(kpis.mrr.end, currency)));
  });
  const summary = series.map(({ month, kpis }) => `${month}: MRR ${money(kpis.mrr.end, currency)}`).join("; ");
  const legend = el("p", { class: "legend" }, MOVES.map(([, label, colour]) => el("span", { class: "key" }, svg("svg", { width: 12, height: 12, "aria-hidden": "true" }, svg("rect", { width: 12, height: 12, fill: colour })), ` ${label}`)));
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `MRR gained above the line and lost below it, by month. ${summary}` }, shapes);
  fill("mrr-chart", chart, legend);
  const head = el("tr", {}, el("th", { scope: "col" }, "Month"), MOVES.map(([, label]) => el("th", { scope: "col", class: "num" }, label)), el("th", { scope: "col", class: "num" }, "MRR at end"));
  const rows = series.map(({ month, kpis }) => el("tr", {}, el("th", { scope: "row" }, month), MOVES.map(([key]) => el("td", { class: "num" }, money(kpis.mrr[key], currency))), el("td", { class: "num" }, money(kpis.mrr.end, currency))));
  fill("mrr-table", el("div", { class: "scroll" }, el("table", {}, el("thead", {}, head), el("tbody", {}, rows))));
}

const BANDS = [["green", "#1a7f37"], ["yellow", "#bf8700"], ["red", "#cf222e"], ["unscored", "#8c959f"]];

function healthChart(kpis) {
  const total = BANDS.reduce((sum, [name]) => sum + kpis.health[name].mrr, 0);
  let x = 0;
  const parts = BANDS.map(([name, colour]) => {
    const w = total ? (kpis.health[name].mrr / total) * 600 : 0;
    const rect = svg("rect", { x, y: 0, width: w, height: 36, fill: colour }, svg("title", {}, `${name}: ${money(kpis.health[name].mrr, kpis.currency)}`));
    x += w;
    return rect;
  });
  const label = BANDS.map(([name]) => `${name} ${total ? Math.round((kpis.health[name].mrr / total) * 100) : 0}%`).join(", ");
  fill("health-chart", svg("svg", { viewBox: "0 0 600 36", role: "img", "aria-label": `Share of MRR by health band: ${label}` }, parts));
  const rows = BANDS.map(([name]) => el("tr", {}, el("th", { scope: "row" }, band(name)),
    el("td", { class: "num", "data-kpi": `health.${name}.accounts`, "data-value": kpis.health[name].accounts }, kpis.health[name].accounts),
    el("td", { class: "num", "data-kpi": `health.${name}.mrr`, "data-value": kpis.health[name].mrr }, money(kpis.health[name].mrr, kpis.currency)),
    el("td", { class: "num" }, total ? `${Math.round((kpis.health[name].mrr / total) * 100)} %` : "–")));
  fill("health-table", el("table", {}, el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Band"), el("th", { scope: "col", class: "num" }, "Accounts"), el("th", { scope: "col", class: "num" }, "MRR"), el("th", { scope: "col", class: "num" }, "Share"))), el("tbody", {}, rows)));
}

function npsChart(series) {
  const width = 360, height = 160, pad = 24;
  const points = series.map(({ month, kpis }, i) => ({ month, score: kpis.nps.responses ? kpis.nps.score : null, responses: kpis.nps.responses, x: pad + (i * (width - 2 * pad)) / Math.max(1, series.length - 1) }));
  const y = (score) => pad + ((100 - score) / 200) * (height - 2 * pad);
  const shapes = [svg("line", { x1: pad, x2: width - pad, y1: y(0), y2: y(0), stroke: "#d0d7de" }), svg("text", { x: 2, y: y(0) + 4 }, "0")];
  const known = points.filter((p) => p.score !== null);
  if (known.length > 1) shapes.push(svg("polyline", { points: known.map((p) => `${p.x},${y(p.score)}`).join(" "), fill: "none", stroke: "#0550ae", "stroke-width": 2 }));
  for (const p of points) {
    shapes.push(svg("text", { x: p.x, y: height - 4, "text-anchor": "middle" }, p.month.slice(2)));
    if (p.score === null) continue;
    shapes.push(svg("circle", { cx: p.x, cy: y(p.score), r: 4, fill: "#0550ae" }, svg("title", {}, `${p.month}: NPS ${p.score} (${p.responses} responses)`)));
    shapes.push(svg("text", { x: p.x, y: y(p.score) - 8, "text-anchor": "middle" }, p.score));
  }
  const label = points.map((p) => `${p.month}: ${p.score === null ? "no responses" : p.score}`).join("; ");
  fill("nps-chart", svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `NPS by month. ${label}` }, shapes));
}

// The API's top reason (GET /accounts?view=summary: the rule the alerts use, kept in one place).
function topReason(summary) {
  if (!summary || summary.score === null || summary.score === undefined) return "not scored yet";
  return summary.top_reason || "–";
}

function accountLink(account) {
  return el("button", { type: "button", class: "account-link", "data-account-id": account.account_id, onclick: () => openAccount(account.account_id) }, account.name || account.account_id);
}

function table(headers, rows, empty) {
  if (!rows.length) return el("p", { class: "empty" }, empty);
  const head = el("tr", {}, headers.map(([label, cls]) => el("th", { scope: "col", class: cls }, label)));
  return el("div", { class: "scroll" }, el("table", {}, el("thead", {}, head), el("tbody", {}, rows)));
}

function atRisk(red, currency) {
  red.sort((a, b) => (b.mrr || 0) - (a.mrr || 0));
  fill("risk-count", `(${red.length})`);
  const rows = red.map((a) => el("tr", { "data-account-id": a.account_id }, el("td", {}, accountLink(a)),
    el("td", { class: "num" }, money(a.mrr || 0, a.currency || currency)),
    el("td", { class: "num" }, a.score ?? "–"),
    el("td", {}, topReason(a))));
  fill("at-risk", table([["Account"], ["MRR", "num"], ["Score", "num"], ["Top reason"]], rows, "No account is red."));
}

function renewals(kpis, byId) {
  const rows = kpis.renewals_90d.map((r) => el("tr", { "data-account-id": r.account_id },
    el("td", {}, accountLink({ account_id: r.account_id, name: r.name })), el("td", {}, day(r.renewal_at)),
    el("td", { class: "num" }, money(r.mrr, kpis.currency)), el("td", {}, band(r.band)),
    el("td", { class: "hide-narrow" }, r.band === "green" ? "" : topReason(byId.get(r.account_id)))));
  fill("renewals", table([["Account"], ["Renews"], ["MRR", "num"], ["Health"], ["Why", "hide-narrow"]], rows, "No renewal in the next 90 days."));
}

function changes(accounts) {
  const moved = accounts.filter((a) => typeof a.change_7d === "number" && a.change_7d !== 0)
    .sort((a, b) => Math.abs(b.change_7d) - Math.abs(a.change_7d)).slice(0, 10);
  const rows = moved.map((a) => el("tr", { "data-account-id": a.account_id }, el("td", {}, accountLink(a)),
    el("td", { class: `num ${a.change_7d < 0 ? "down" : "up"}` }, `${a.change_7d < 0 ? "▼" : "▲"} ${signed(a.change_7d)}`),
    el("td", { class: "num" }, a.score), el("td", {}, band(a.band)), el("td", { class: "hide-narrow" }, topReason(a))));
  fill("changes", table([["Account"], ["Change", "num"], ["Score", "num"], ["Band"], ["Top reason", "hide-narrow"]], rows, "No score moved in the last 7 days."));
}

// The figures first (the KPIs answer quickly), then the account lists (one larger read).
async function load() {
  status("Loading…");
  const months = lastMonths(MONTHS_SHOWN);
  const series = await Promise.all(months.map(async (month) => ({ month, kpis: await api(`/kpis?month=${month}`) })));
  // Asked for once the figures are in, so that the larger read does not delay them: one summary
  // line per account (name, MRR, score, band, change, top reason), not the whole records.
  const listing = allAccounts("/accounts?view=summary");
  const current = series.at(-1).kpis;
  const asOfText = asOf || `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`;
  fill("as-of", `${current.month} · ${current.customers.end} customers · as of ${asOfText}`);
  fill("tiles", tiles(current));
  mrrChart(series);
  healthChart(current);
  npsChart(series);
  renewals(current, new Map());
  fill("at-risk", el("p", { class: "empty" }, "Loading accounts…"));
  fill("changes", el("p", { class: "empty" }, "Loading accounts…"));
  document.getElementById("overview").hidden = false;
  document.getElementById("panels").hidden = false;
  document.getElementById("sign-in").hidden = true;
  document.getElementById("sign-out").hidden = !config.auth;
  status("Loading accounts…");
  performance.mark("foresight-figures");

  const accounts = await listing;
  fill("as-of", `${current.month} · ${accounts.length} accounts · as of ${asOfText}`);
  atRisk(accounts.filter((a) => a.band === "red"), current.currency);
  renewals(current, new Map(accounts.map((a) => [a.account_id, a])));
  changes(accounts);
  status(current.excluded.length ? `${current.excluded.length} account(s) left out of the figures: ${current.excluded.map((e) => `${e.account_id} (${e.reason})`).join(", ")}` : "");
  document.body.dataset.ready = "true";
  performance.mark("foresight-rendered");
}

// ---------- one account

function facts(object) {
  // Scalars and lists of names; nested detail (subscriptions, daily counts) stays in the API.
  const scalar = (v) => v !== null && v !== undefined && typeof v !== "object";
  const rows = Object.entries(object || {}).filter(([, v]) => scalar(v) || (Array.isArray(v) && v.every(scalar)));
  if (!rows.length) return el("p", { class: "empty" }, "Nothing known.");
  return el("dl", { class: "facts" }, rows.flatMap(([k, v]) => [el("dt", {}, k.replace(/_/g, " ")), el("dd", {}, Array.isArray(v) ? v.join(", ") || "–" : k === "mrr" || k === "arr" ? money(v, object.currency) : String(v))]));
}

function historyChart(points) {
  if (points.length < 2) return el("p", { class: "empty" }, points.length ? `One score so far: ${points[0].score} on ${points[0].day}.` : "No history yet.");
  const width = 600, height = 120, pad = 20;
  const x = (i) => pad + (i * (width - 2 * pad)) / (points.length - 1);
  const y = (s) => pad + ((100 - s) / 100) * (height - 2 * pad);
  const line = svg("polyline", { points: points.map((p, i) => `${x(i)},${y(p.score)}`).join(" "), fill: "none", stroke: "#0550ae", "stroke-width": 2 });
  const ends = [0, points.length - 1].map((i) => svg("text", { x: x(i), y: height - 2, "text-anchor": i ? "end" : "start" }, `${points[i].day}: ${points[i].score}`));
  const label = `Daily health score from ${points[0].day} (${points[0].score}) to ${points.at(-1).day} (${points.at(-1).score})`;
  return el("figure", { class: "chart" }, svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label }, line, ends));
}

async function openAccount(accountId) {
  const dialog = document.getElementById("account");
  fill("account-title", accountId);
  fill("account-body", el("p", { role: "status" }, "Loading…"));
  if (!dialog.open) dialog.showModal();
  try {
    const id = encodeURIComponent(accountId);
    const [record, history] = await Promise.all([api(`/accounts/${id}`), api(`/accounts/${id}/history`)]);
    const h = record.health;
    fill("account-title", record.name || record.account_id);
    const components = h ? (h.components || []).map((c) => el("tr", {}, el("th", { scope: "row" }, c.name), el("td", { class: "num" }, c.weight), el("td", { class: "num" }, c.score), el("td", { "data-reason": c.name }, c.reason))) : [];
    const missing = h && h.missing_reasons && h.missing_reasons.length ? el("ul", {}, h.missing_reasons.map((m) => el("li", {}, typeof m === "string" ? m : `${m.component || m.name || ""}: ${m.reason || JSON.stringify(m)}`))) : null;
    fill("account-body",
      el("p", {}, `${record.account_id} · ${record.segment} · ${record.lifecycle} · `, h ? [band(h.band), ` score ${h.score}`, typeof h.change_7d === "number" ? ` (${signed(h.change_7d)} in 7 days)` : ""] : band(null)),
      el("h3", {}, "Health breakdown"),
      h && h.cap ? el("p", {}, `Capped at ${h.cap.at} (${h.cap.band}): ${h.cap.reason}`) : null,
      el("div", { id: "breakdown" }, table([["Component"], ["Weight", "num"], ["Score", "num"], ["Reason"]], components, "Not scored yet: run a health sweep.")),
      missing && [el("h3", {}, "Left out for lack of data"), missing],
      el("h3", {}, "History"), historyChart(history.history),
      el("h3", {}, "Billing"), facts(record.billing),
      record.billing?.past_due ? el("p", {}, `Past due: ${money(record.billing.past_due.amount, record.billing.currency)} since ${day(record.billing.past_due.since)} (${record.billing.past_due.invoices} invoice(s))`) : null,
      el("h3", {}, "Support"), facts(record.support),
      el("h3", {}, "Usage"), facts(record.usage),
      el("h3", {}, "Surveys"), facts(record.surveys));
  } catch (error) {
    if (error instanceof SignInNeeded) { dialog.close(); askToSignIn("Your session ended: sign in again."); return; }
    fill("account-body", el("p", { class: "error", role: "alert" }, String(error.message || error)));
  }
  document.getElementById("account-close").focus();
}

// ---------- start

async function start() {
  document.getElementById("sign-in").addEventListener("click", () => signIn().catch((e) => status(String(e.message || e), true)));
  document.getElementById("sign-out").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); askToSignIn("Signed out."); });
  document.getElementById("account-close").addEventListener("click", () => document.getElementById("account").close());
  try {
    config = await (await fetch("/dashboard/config")).json();
    if (config.auth && (await finishSignIn())) return;
    if (config.auth && !sessionStorage.getItem(TOKEN_KEY)) return askToSignIn();
    await load();
  } catch (error) {
    if (error instanceof SignInNeeded) return askToSignIn();
    status(`Could not load the portfolio: ${error.message || error}`, true);
  }
}

start();
