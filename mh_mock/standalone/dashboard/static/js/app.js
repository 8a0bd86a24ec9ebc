// The dashboard: polls the admin API about once a second and renders each section from what it
// answers. Forms come from the operation table (GET /mh-mock-api/operations). No framework, no
// build step, no HTML parsing of data: see dom.js.

import {Admin, token} from "./api.js";
import {fill} from "./dom.js";
import {accountsSection} from "./accounts.js";
import {clockSection} from "./clock.js";
import {journalSection} from "./journal.js";
import {projectsSection} from "./projects.js";
import {resetSection} from "./reset.js";
import {simulationSection} from "./simulation.js";
import {webhooksSection} from "./webhooks.js";

const POLL_MS = 1000;
const HIDDEN_POLL_MS = 5000; // a background tab polls less

const $ = (id) => document.getElementById(id);

let timer = null;
let polling = false;
let pollAgain = false;
let needToken = false;
let sections = null;
let toastTimer = null;

const ctx = {
  admin: new Admin(askForToken),
  config: {url: location.origin, admin_token_required: false, version: ""},
  ops: {},
  data: {},
  /** Poll now (after an action), instead of waiting for the next tick. */
  refresh: () => poll(),
  /** Tell the user what happened (a polite live region; text only). */
  say(message, kind = "ok") {
    const toast = $("toast");
    toast.className = `toast show ${kind}`;
    toast.textContent = message;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (toast.className = "toast"), kind === "ok" ? 3500 : 8000);
  },
  /** Run an action; report success or the server's refusal; poll. Resolves to the answer (or throws). */
  async act(description, action) {
    try {
      const answer = await action();
      ctx.say(description);
      return answer;
    } catch (error) {
      ctx.say(`${description} failed: ${error.message}`, "bad");
      throw error;
    } finally {
      poll();
    }
  },
  /** Like act(), for buttons: the failure is already reported. */
  async try(description, action) {
    try {
      return await ctx.act(description, action);
    } catch {
      return undefined;
    }
  },
};

function setConnection(text, kind) {
  const el = $("connection");
  el.textContent = text;
  el.className = `conn ${kind}`;
}

// ---------------------------------------------------------------- admin token

function askForToken(message) {
  needToken = true;
  setConnection("needs the admin token", "warn");
  const dialog = $("token-dialog");
  if (dialog.open) return; // already asking (parallel calls all answer 403)
  const refused = Boolean(message && token.get());
  if (refused) token.clear(); // a refused token is not sent again
  $("token-problem").textContent = refused ? `The server refused the token: ${message}` : "";
  dialog.showModal();
  $("token-input").focus();
}

function setupTokenDialog() {
  const dialog = $("token-dialog");
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("token-input").value;
    if (!value) return;
    token.set(value);
    $("token-input").value = "";
    needToken = false;
    dialog.close();
    setConnection("connecting…", "");
    start();
  });
  $("token-button").addEventListener("click", () => askForToken(""));
  dialog.addEventListener("close", () => {
    // closed without a new token (Escape) while one is kept: carry on with it
    if (needToken && token.get()) {
      needToken = false;
      start();
    }
  });
}

// ---------------------------------------------------------------- polling

async function poll() {
  if (polling) {
    pollAgain = true;
    return;
  }
  if (!sections || needToken) return;
  polling = true;
  clearTimeout(timer);
  try {
    const {admin} = ctx;
    // every list that can grow without bound comes a page at a time (the newest N, filtered on the server)
    const [state, projects, accounts, scenarios, faults, webhooks, deliveries] = await Promise.all([
      admin.get("/state"), sections.projects.load(), sections.accounts.load(), admin.get("/scenarios"),
      admin.get("/faults"), admin.get("/webhooks"), sections.webhooks.load(),
    ]);
    Object.assign(ctx.data, {state, projects, accounts, scenarios, faults, webhooks, deliveries});
    for (const section of sections) section.render(ctx.data);
    await sections.journal.poll();
    setConnection("live", "ok");
  } catch (error) {
    if (error.status === 403) setConnection("needs the admin token", "warn");
    else setConnection(error.status ? `error: ${error.message}` : "server not answering", "bad");
  } finally {
    polling = false;
    if (!needToken) {
      if (pollAgain) {
        pollAgain = false;
        queueMicrotask(poll);
      } else {
        timer = setTimeout(poll, document.hidden ? HIDDEN_POLL_MS : POLL_MS);
      }
    }
  }
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) poll();
});

// ---------------------------------------------------------------- start

async function start() {
  if (!sections) {
    let operations;
    try {
      operations = await ctx.admin.get("/operations");
    } catch (error) {
      if (error.status !== 403) {
        setConnection(`error: ${error.message}`, "bad");
        setTimeout(start, 3000);
      }
      return;
    }
    for (const op of operations) ctx.ops[op.name] = op;
    const journal = journalSection(ctx, $("journal-body"));
    const projects = projectsSection(ctx, $("projects-body"));
    const accounts = accountsSection(ctx, $("accounts-body"));
    const webhooks = webhooksSection(ctx, $("webhooks-body"));
    sections = [
      clockSection(ctx, $("clock-body"), {now: $("top-now"), badges: $("top-badges")}),
      accounts,
      resetSection(ctx, $("reset-body"), () => journal.restart()),
      projects,
      simulationSection(ctx, $("simulation-body")),
      webhooks,
    ];
    Object.assign(sections, {journal, projects, accounts, webhooks});
  }
  poll();
}

async function boot() {
  setupTokenDialog();
  try {
    const response = await fetch("/dashboard/config.json", {cache: "no-store"});
    if (response.ok) Object.assign(ctx.config, await response.json());
  } catch {
    // keep the defaults: same origin, no token
  }
  fill($("server-url"), ctx.config.url);
  fill($("version"), ctx.config.version);
  $("token-button").hidden = !ctx.config.admin_token_required;
  if (ctx.config.admin_token_required && !token.get()) {
    askForToken("");
    return;
  }
  start();
}

boot();
