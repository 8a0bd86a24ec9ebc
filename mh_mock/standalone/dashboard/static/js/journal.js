// Journal: a live tail of the calls the fake served (newest first), filters, request and answer
// bodies on demand, and exports (HAR 1.2 and JSON) of the journal as filtered.

import {badge, fill, h, httpKind, jsonBlock, nextId, saveFile, syncChildren, timeOf} from "./dom.js";
import {toHar} from "./har.js";

const FIRST = 200; // entries loaded when the tail (re)starts
const KEEP = 300; // entries kept in the page

export function journalSection(ctx, root) {
  const {admin, ops} = ctx;
  let entries = []; // oldest first
  let filters = {};
  let paused = false;
  let loading = null;
  let restarts = 0;

  // ------------------------------------------------------------ filters
  const ids = {route: nextId("j-route"), method: nextId("j-method"), status: nextId("j-status"), token: nextId("j-token")};
  const routes = h("datalist", {id: nextId("j-routes")});
  const route = h("input", {id: ids.route, name: "route", type: "text", list: routes.id, placeholder: "projects.get or storage.*", autocomplete: "off", spellcheck: "false"});
  const method = h("select", {id: ids.method, name: "method"}, h("option", {value: ""}, "any"),
    (ops.journal.query.method.enum || []).map((m) => h("option", {value: m}, m)));
  const status = h("input", {id: ids.status, name: "status", type: "number", min: "0", max: "599", step: "1", placeholder: "e.g. 429"});
  const token = h("input", {id: ids.token, name: "token", type: "text", placeholder: "the whole API key", autocomplete: "off", spellcheck: "false"});
  const filterForm = h("form", {class: "filters", role: "search", "aria-label": "Filter the journal"},
    h("div", {class: "field"}, h("label", {for: ids.route}, "Route"), route, routes),
    h("div", {class: "field"}, h("label", {for: ids.method}, "Method"), method),
    h("div", {class: "field narrow"}, h("label", {for: ids.status}, "Status"), status),
    h("div", {class: "field"}, h("label", {for: ids.token}, "Token"), token),
    h("div", {class: "actions"}, h("button", {type: "submit", class: "primary"}, "Apply filters"),
      h("button", {type: "button", onclick: () => { filterForm.reset(); apply(); }}, "Clear")));
  filterForm.addEventListener("submit", (event) => {
    event.preventDefault();
    apply();
  });

  const pause = h("button", {type: "button", "aria-pressed": "false"}, "Pause");
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.setAttribute("aria-pressed", String(paused));
    pause.textContent = paused ? "Resume" : "Pause";
    if (!paused) ctx.refresh();
  });
  const exportHar = h("button", {type: "button"}, "Export HAR");
  exportHar.addEventListener("click", () => exportAs("har"));
  const exportJson = h("button", {type: "button"}, "Export JSON");
  exportJson.addEventListener("click", () => exportAs("json"));
  const count = h("span", {class: "muted small", "aria-live": "off"});

  // ------------------------------------------------------------ table: one <tbody> per call
  const table = h("table", {class: "data journal", id: "journal-table"},
    h("caption", {class: "sr-only"}, "Journal, newest first"),
    h("thead", null, h("tr", null,
      h("th", {scope: "col"}, h("span", {class: "sr-only"}, "Details")),
      ["#", "Time", "Method", "Route", "Token", "Status", "Fault", "Project"].map((t) => h("th", {scope: "col"}, t)))));
  const empty = h("p", {class: "empty"}, "No calls yet.");

  fill(root, filterForm,
    h("div", {class: "heading-row"}, h("div", {class: "buttons"}, pause, exportHar, exportJson), count),
    h("div", {class: "scroll tall"}, table), empty);

  function renderCall(call) {
    const detailId = nextId("call");
    const toggle = h("button", {type: "button", class: "toggle", "aria-expanded": "false", "aria-controls": detailId,
      "aria-label": `Show bodies of call ${call.seq}`}, "▸");
    const detail = h("tr", {id: detailId, class: "call-detail", hidden: true},
      h("td", {colspan: "9"}, h("div", {class: "grid two"},
        h("div", null, h("h4", null, "Request"), h("p", {class: "mono small break"}, `${call.method} ${call.url}`), call.body === null || call.body === undefined ? h("p", {class: "muted small"}, "(no body)") : jsonBlock(call.body, "Request body")),
        h("div", null, h("h4", null, "Answer"),
          h("p", {class: "small"}, call.status ? `HTTP ${call.status}` : "no answer reached the client", call.fault ? ` · fault: ${call.fault}` : "", call.handled === false ? " · not handled by the engine" : ""),
          call.response === null || call.response === undefined ? h("p", {class: "muted small"}, "(no body)") : jsonBlock(call.response, "Answer body")))));
    toggle.addEventListener("click", () => {
      const open = detail.hidden;
      detail.hidden = !open;
      toggle.setAttribute("aria-expanded", String(open));
      toggle.textContent = open ? "▾" : "▸";
    });
    const main = h("tr", {class: call.fault ? "faulted" : null},
      h("td", null, toggle),
      h("td", {class: "num muted"}, String(call.seq)),
      h("td", null, timeOf(call.at)),
      h("td", null, h("span", {class: "method"}, call.method)),
      h("td", {title: call.url}, call.route ? h("span", {class: "mono"}, call.route) : h("span", {class: "muted"}, "(no route)")),
      h("td", null, h("span", {class: "mono"}, call.token ?? "—")),
      h("td", null, badge(call.status ? String(call.status) : "no answer", httpKind(call.status))),
      h("td", null, call.fault ? badge(call.fault, "warn") : ""),
      h("td", null, call.project_id ? h("span", {class: "mono small"}, call.project_id) : ""));
    return h("tbody", null, main, detail);
  }

  function render() {
    const newestFirst = entries.slice().reverse();
    syncChildren(table, newestFirst, (c) => c.seq, () => "", renderCall);
    empty.hidden = entries.length > 0;
    table.hidden = entries.length === 0;
    count.textContent = `${entries.length} call${entries.length === 1 ? "" : "s"} shown${paused ? " (paused)" : ""}`;
    const known = new Set([...routes.children].map((o) => o.value));
    for (const name of new Set(entries.map((c) => c.route).filter(Boolean))) {
      if (!known.has(name)) routes.append(h("option", {value: name}));
    }
  }

  function apply() {
    filters = {route: route.value.trim(), method: method.value, status: status.value, token: token.value};
    restart();
    ctx.refresh();
  }

  function restart() {
    restarts += 1;
    entries = [];
    render();
  }

  async function load() {
    const generation = restarts;
    const query = {...filters};
    let next;
    if (!entries.length) {
      next = await admin.get("/journal", {...query, limit: FIRST});
    } else {
      // ask from just before the newest call we hold: it must come back first, unchanged, or the
      // journal was reset (or rolled over) since and the tail starts again
      const last = entries[entries.length - 1];
      const fresh = await admin.get("/journal", {...query, since: last.seq - 1, limit: 500});
      const first = fresh[0];
      if (!first || first.seq !== last.seq || first.at !== last.at || first.url !== last.url) {
        next = await admin.get("/journal", {...query, limit: FIRST});
      } else {
        next = entries.concat(fresh.slice(1)).slice(-KEEP);
      }
    }
    if (generation === restarts) entries = next; // else the filters changed meanwhile: drop it
  }

  async function exportAs(kind) {
    const calls = await ctx.try("Journal exported", () => admin.get("/journal", filters));
    if (!calls) return;
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    if (kind === "har") {
      const har = toHar(calls, {version: ctx.config.version, serverUrl: ctx.config.url});
      saveFile(`mh-mock-journal-${stamp}.har`, JSON.stringify(har, null, 2), "application/json");
    } else {
      saveFile(`mh-mock-journal-${stamp}.json`, JSON.stringify(calls, null, 2), "application/json");
    }
  }

  return {
    async poll() {
      if (paused) return;
      if (!loading) loading = load().finally(() => (loading = null));
      await loading;
      render();
    },
    restart,
  };
}
