// Projects: every project with its owner, status timeline and credits; finish, cancel, delete,
// force an outcome; play and download complete ones; create one as a token would.

import {badge, confirmButton, delta, fill, h, localUrl, nextId, syncChildren, timeOf} from "./dom.js";
import {humanize, operationForm} from "./forms.js";

const MAX_ROWS = 200;
// The page loads the newest FETCH_LIMIT projects matching the account and status filters (the
// server filters those), so a fake holding 100,000 projects costs a poll no more than one holding 1,000.
const FETCH_LIMIT = 1000;
const TERMINAL = new Set(["complete", "error", "canceled"]);

const isDeleted = (p) => p.enabled === false;
const isTerminal = (p) => TERMINAL.has(p.status);

/** Why a project has no download: the truth for each status (only a complete job has audio). */
function noDownload(p) {
  if (isDeleted(p)) return "gone (deleted)";
  if (p.status === "error") return "none (the job ended in error)";
  if (p.status === "canceled") return "none (canceled)";
  if (p.status === "complete") return "none";
  return "none until complete";
}

export function projectsSection(ctx, root) {
  const {admin, ops} = ctx;
  let selectedId = null;
  let shown = [];

  // ------------------------------------------------------------ filters
  const accountId = nextId("filter-account");
  const statusId = nextId("filter-status");
  const searchId = nextId("filter-search");
  const accountFilter = h("select", {id: accountId}, h("option", {value: ""}, "All accounts"));
  const statusFilter = h("select", {id: statusId}, h("option", {value: ""}, "All statuses"),
    (ops.projects.query.status.enum || []).map((s) => h("option", {value: s}, s)),
    h("option", {value: "deleted"}, "deleted"));
  const search = h("input", {id: searchId, type: "search", placeholder: "id, name or token", autocomplete: "off", spellcheck: "false"});
  for (const control of [accountFilter, statusFilter]) control.addEventListener("change", () => ctx.refresh());
  search.addEventListener("input", () => render(ctx.data));
  const summary = h("p", {class: "muted small", "aria-live": "polite"});
  const filters = h("div", {class: "filters", role: "search", "aria-label": "Filter projects"},
    h("div", {class: "field"}, h("label", {for: accountId}, "Token / account"), accountFilter),
    h("div", {class: "field"}, h("label", {for: statusId}, "Status"), statusFilter),
    h("div", {class: "field grow"}, h("label", {for: searchId}, "Search"), search),
    summary);

  // ------------------------------------------------------------ table
  const rows = h("tbody");
  const empty = h("p", {class: "empty"}, "No projects yet. Create one with any client (or below); it appears here within a second.");
  const table = h("table", {class: "data", id: "projects-table"},
    h("caption", {class: "sr-only"}, "Projects, newest first"),
    h("thead", null, h("tr", null,
      ["Project", "Token", "Type", "Status and timeline"].map((t) => h("th", {scope: "col"}, t)),
      h("th", {scope: "col", class: "num"}, "Credits"), h("th", {scope: "col"}, "Created"),
      h("th", {scope: "col"}, h("span", {class: "sr-only"}, "Actions")))),
    rows);

  // ------------------------------------------------------------ details and player
  const player = h("audio", {controls: true, preload: "none", id: "player", "aria-label": "Project audio"});
  const playing = h("p", {class: "muted small", "aria-live": "polite"}, "Nothing playing.");
  player.addEventListener("error", () => {
    if (player.getAttribute("src")) playing.textContent = "This audio could not be played (its URL may have expired or the project was deleted).";
  });
  const detailInfo = h("div", {class: "detail-info"});
  const playerBox = h("div", {class: "player", hidden: true}, player, playing);
  const forceForm = operationForm(ops.force, {
    submit: "Force now",
    intro: "Move the project to a status now (error: with a code and message).",
    onSubmit: (body) => ctx.act(`Forced ${selectedId} to ${body.status}`, () => admin.run(ops.force, {params: {id: selectedId}, body})),
  });
  const outcomeForm = operationForm(ops.set_outcome, {
    submit: "Set outcome",
    intro: "Decide how it ends when it finishes (complete, canceled, error or error:<code>).",
    onSubmit: (body) => ctx.act(`Outcome of ${selectedId}: ${JSON.stringify(body.outcome)}`, () => admin.run(ops.set_outcome, {params: {id: selectedId}, body})),
  });
  const steering = h("div", {class: "grid two"}, forceForm.form, outcomeForm.form);
  const detailTitle = h("h3", {id: "project-detail-title"}, "Project details");
  const detail = h("section", {class: "detail", "aria-labelledby": "project-detail-title", id: "project-detail"},
    detailTitle, detailInfo,
    playerBox,
    steering);

  const create = operationForm(ops.create_project, {
    primary: ["token", "endpoint", "name", "prompt", "outcome"],
    submit: "Create project",
    intro: "Creates a project as that token would (credits are charged), without a client.",
    onSubmit: (body) => ctx.act("Project created", () => admin.run(ops.create_project, {body})),
  });

  fill(root, filters, h("div", {class: "scroll tall"}, table), empty, detail,
    h("details", {class: "more-block"}, h("summary", null, "Create a project"), create.form));

  // ------------------------------------------------------------ actions
  const byId = new Map();

  function select(id, focus = false) {
    selectedId = id;
    renderDetail();
    for (const row of rows.children) row.classList.toggle("selected", row.dataset.key === id);
    if (focus) detailTitle.scrollIntoView({block: "nearest"});
  }

  function play(project) {
    select(project.id);
    const url = project.downloads && project.downloads[0] && localUrl(project.downloads[0].url, ctx.config.url);
    if (!url) return;
    player.src = url;
    playerBox.hidden = false;
    playing.textContent = `Playing ${project.id}`;
    player.play().catch((error) => (playing.textContent = `Could not play: ${error.message}`));
  }

  function renderRow(p) {
    const deleted = isDeleted(p);
    const terminal = isTerminal(p);
    const id = h("button", {type: "button", class: "linklike mono", title: "Show details", onclick: () => select(p.id, true)}, p.id);
    const timeline = h("ol", {class: "timeline", "aria-label": "Timeline"},
      (p.history || []).map((step) => h("li", {title: step.at},
        badge(step.status), " ", h("span", {class: "muted small"}, step === p.history[0] ? timeOf(step.at) : delta(p.history[0].at, step.at)))));
    const status = h("div", {class: "status-cell"},
      deleted ? h("p", {class: "gone"}, badge("deleted"), " ", h("span", {class: "small"}, "disabled, downloads gone")) : null,
      timeline,
      p.error ? h("p", {class: "small error-text"}, h("span", {class: "mono"}, p.error.code || ""), p.error.message ? ` · ${p.error.message}` : "") : null);

    const finish = h("button", {type: "button", disabled: terminal, title: "Run it to its outcome now"}, "Finish");
    finish.addEventListener("click", () => ctx.try(`Finished ${p.id}`, () => admin.run(ops.finish, {params: {id: p.id}})));
    const cancel = h("button", {type: "button", disabled: terminal, title: "As the web app does: refunded, no webhook"}, "Cancel");
    cancel.addEventListener("click", () => ctx.try(`Canceled ${p.id}`, () => admin.run(ops.cancel, {params: {id: p.id}})));
    const remove = confirmButton("Delete", "Confirm delete", () => ctx.try(`Deleted ${p.id}`, () => admin.run(ops.delete, {params: {id: p.id}})),
      {class: "danger", disabled: deleted, title: "Irreversible: the audio and every download URL are gone"});
    const media = [];
    let link = null;
    if (!deleted && p.downloads && p.downloads.length) {
      const playButton = h("button", {type: "button", class: "play", "aria-label": `Play ${p.id}`}, "▶ Play");
      playButton.addEventListener("click", () => play(byId.get(p.id) || p));
      link = h("a", {class: "button", download: `${p.id}.wav`, "aria-label": `Download ${p.id}`}, "Download");
      media.push(playButton, link);
    }
    const row = h("tr", {class: deleted ? "deleted" : null},
      h("td", null, id, h("div", {class: "name", title: p.name}, p.name)),
      h("td", null, h("span", {class: "mono", title: p.account_id ? `account ${p.account_id}` : null}, p.owner ?? "—")),
      h("td", null, humanize(p.endpoint || String(p.type).toLowerCase())),
      h("td", null, status),
      h("td", {class: "num"}, String(p.credits_charged)),
      h("td", null, timeOf(p.created_at)),
      h("td", {class: "row-actions"}, h("div", {class: "buttons"}, finish, cancel, remove, media)));
    row._link = link;
    return row;
  }

  let lastDetail = "";
  function renderDetail() {
    const p = selectedId && byId.get(selectedId);
    const signature = JSON.stringify([selectedId, p || null]);
    if (signature === lastDetail) return;
    lastDetail = signature;
    steering.hidden = !p || isTerminal(p);
    // the player shows for a project with audio, and stays while something is loaded in it
    playerBox.hidden = !(p && !isDeleted(p) && p.downloads && p.downloads.length) && !player.getAttribute("src");
    if (!p) {
      fill(detailTitle, "Project details");
      fill(detailInfo, h("p", {class: "muted"}, selectedId ? `Project ${selectedId} is gone (after a reset).` : "Choose a project (its id) to see its timeline, play its audio, or force an outcome."));
      return;
    }
    fill(detailTitle, "Project ", h("span", {class: "mono"}, p.id));
    const download = p.downloads && p.downloads[0];
    fill(detailInfo, h("dl", {class: "kv"},
      h("dt", null, "Name"), h("dd", null, p.name),
      h("dt", null, "Token"), h("dd", {class: "mono"}, `${p.owner ?? "—"}  (account ${p.account_id ?? "—"})`),
      h("dt", null, "Type"), h("dd", null, `${p.type} (${p.endpoint})`),
      h("dt", null, "Status"), h("dd", null, isDeleted(p) ? [badge("deleted"), " enabled: false, downloads: [] — deletion is irreversible; "] : null, badge(p.status)),
      h("dt", null, "Credits charged"), h("dd", null, String(p.credits_charged)),
      h("dt", null, "Timeline"), h("dd", null, h("ol", {class: "plain"}, (p.history || []).map((s) => h("li", null, badge(s.status), " ", h("span", {class: "mono small"}, s.at))))),
      p.error ? [h("dt", null, "Error"), h("dd", null, h("span", {class: "mono"}, p.error.code || ""), " ", p.error.message || "")] : null,
      h("dt", null, "Download"), h("dd", null, download ? [h("span", {class: "mono small break"}, download.url), h("div", {class: "muted small"}, `expires ${download.expires_at}`)] : h("span", {class: "muted"}, noDownload(p)))));
  }

  /** The query of the next poll: the filters the server applies, and the page's size. */
  function query() {
    const status = statusFilter.value;
    return {limit: FETCH_LIMIT, account: accountFilter.value, status: status === "deleted" ? "" : status};
  }

  /** The page of projects for the next poll. An account filtered on that is gone (a reset) is dropped. */
  async function load() {
    try {
      return await admin.get("/projects", query());
    } catch (error) {
      if (error.status !== 404 || !accountFilter.value) throw error;
      accountFilter.value = "";
      return admin.get("/projects", query());
    }
  }

  function filtered(projects) {
    const account = accountFilter.value;
    const status = statusFilter.value;
    const text = search.value.trim().toLowerCase();
    return projects.filter((p) =>
      (!account || p.account_id === account) &&
      (!status || (status === "deleted" ? isDeleted(p) : p.status === status)) &&
      (!text || [p.id, p.name, p.owner, p.account_id].some((v) => typeof v === "string" && v.toLowerCase().includes(text))));
  }

  let lastAccounts = "";
  function render({projects, accounts, state}) {
    byId.clear();
    for (const p of projects) byId.set(p.id, p);
    const accountKey = accounts.map((a) => `${a.id}:${a.token}`).join(",");
    if (accountKey !== lastAccounts) {
      lastAccounts = accountKey;
      const chosen = accountFilter.value;
      // the accounts listed are the newest ones: an older account chosen stays chosen (a reset drops it, see load())
      const kept = chosen && !accounts.some((a) => a.id === chosen) ? h("option", {value: chosen}, chosen) : null;
      fill(accountFilter, h("option", {value: ""}, "All accounts"), kept, accounts.map((a) => h("option", {value: a.id}, `${a.token} (${a.id})`)));
      accountFilter.value = chosen;
    }
    const matching = filtered(projects).reverse(); // newest first
    shown = matching.slice(0, MAX_ROWS);
    const total = state ? state.projects : projects.length;
    const filtering = Boolean(accountFilter.value || statusFilter.value || search.value.trim());
    const capped = projects.length >= FETCH_LIMIT;
    summary.textContent = `${total} project${total === 1 ? "" : "s"}` +
      (filtering ? `, ${matching.length} shown by the filters${capped ? ` (among the newest ${FETCH_LIMIT} of them)` : ""}` : "") +
      (shown.length < total && !filtering ? ` (the newest ${shown.length} listed)` : matching.length > MAX_ROWS ? ` (the newest ${MAX_ROWS} listed)` : "");
    empty.hidden = total > 0;
    table.hidden = total === 0;
    // download URLs are fresh on every poll: leave them out of the signature, update links in place
    const signature = (p) => JSON.stringify({...p, downloads: (p.downloads || []).length});
    const nodes = syncChildren(rows, shown, (p) => p.id, signature, renderRow);
    nodes.forEach((row, index) => {
      row.classList.toggle("selected", row.dataset.key === selectedId);
      const p = shown[index];
      if (row._link && p.downloads && p.downloads[0]) {
        const url = localUrl(p.downloads[0].url, ctx.config.url);
        if (url && row._link.getAttribute("href") !== url) row._link.setAttribute("href", url);
      }
    });
    renderDetail();
  }

  return {render, load};
}
