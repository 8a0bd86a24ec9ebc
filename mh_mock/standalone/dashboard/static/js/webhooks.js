// Webhooks: endpoints (add, remove) and the newest deliveries with their attempts; redeliver one.

import {badge, fill, h, httpKind, jsonBlock, nextId, syncChildren, timeOf} from "./dom.js";
import {operationForm} from "./forms.js";

// The page loads the newest FETCH_LIMIT deliveries in the state chosen (the server filters and
// cuts the list): a fake that sent 10,000 webhooks costs a poll no more than one that sent 200.
const FETCH_LIMIT = 200;

/** "127.0.0.1:9000/webhooks/magic-hour" (the scheme says nothing; the whole URL is the title). */
function shortUrl(url) {
  return url.replace(/^https?:\/\//, "");
}

export function webhooksSection(ctx, root) {
  const {admin, ops} = ctx;
  let endpointsById = new Map();

  const endpoints = h("ul", {class: "items", "aria-label": "Webhook endpoints"});
  const noEndpoints = h("p", {class: "muted small"}, "No endpoints: events are not sent anywhere.");
  const add = operationForm(ops.add_webhook, {
    primary: ["url", "secret", "events"],
    submit: "Add endpoint",
    onSubmit: (body) => ctx.act("Webhook endpoint added", () => admin.run(ops.add_webhook, {body})),
  });

  const rows = h("tbody");
  const noDeliveries = h("p", {class: "muted small"});
  const stateId = nextId("deliveries-state");
  const stateFilter = h("select", {id: stateId},
    h("option", {value: ""}, "All states"),
    ((ops.deliveries.query.state || {}).enum || []).map((s) => h("option", {value: s}, s)));
  stateFilter.addEventListener("change", () => ctx.refresh());
  const summary = h("p", {class: "muted small", id: "deliveries-summary", "aria-live": "polite"});
  const filters = h("div", {class: "filters", role: "search", "aria-label": "Filter deliveries"},
    h("div", {class: "field"}, h("label", {for: stateId}, "State"), stateFilter), summary);
  const table = h("table", {class: "data", id: "deliveries-table"},
    h("caption", {class: "sr-only"}, "Webhook deliveries, newest first"),
    h("thead", null, h("tr", null,
      ["Event", "Project", "Endpoint", "State", "Attempts", "Next retry"].map((t) => h("th", {scope: "col"}, t)),
      h("th", {scope: "col"}, h("span", {class: "sr-only"}, "Actions")))),
    rows);
  const deliverNow = h("button", {type: "button"}, "Send due webhooks now");
  deliverNow.addEventListener("click", () => ctx.try("Sent every due webhook", () => admin.run(ops.deliver_webhooks)));

  fill(root,
    h("h3", null, "Endpoints"), endpoints, noEndpoints,
    h("details", {class: "more-block"}, h("summary", null, "Add an endpoint"), add.form),
    h("div", {class: "heading-row"}, h("h3", null, "Deliveries"), deliverNow),
    filters, h("div", {class: "scroll tall"}, table), noDeliveries);

  function renderDelivery(d) {
    const endpoint = endpointsById.get(d.endpoint_id);
    const attempts = d.attempts.length
      ? h("ol", {class: "attempts", "aria-label": `${d.attempts.length} attempt${d.attempts.length === 1 ? "" : "s"}`}, d.attempts.map((a) => h("li", null,
        h("span", {class: "nowrap"}, timeOf(a.at), " ", a.status !== null && a.status !== undefined ? badge(String(a.status), httpKind(a.status)) : badge("no answer", "bad")),
        a.error ? h("span", {class: "small error-text"}, " ", a.error) : null)))
      : h("span", {class: "muted small"}, "none yet");
    const redeliver = h("button", {type: "button", class: "small", "aria-label": `Redeliver ${d.id}`}, "Redeliver");
    redeliver.addEventListener("click", () => ctx.try(`Redelivering ${d.event}`, () => admin.run(ops.redeliver, {params: {id: d.id}})));
    return h("tr", null,
      h("td", null, h("strong", null, d.event), h("div", {class: "muted small mono"}, d.id),
        d.redelivery_of ? h("div", {class: "small"}, "redelivery of ", h("span", {class: "mono"}, d.redelivery_of)) : null,
        h("details", {class: "payload"}, h("summary", null, "Payload"), jsonBlock(d.payload, `Payload of ${d.id}`))),
      h("td", null, h("span", {class: "mono small"}, d.project_id)),
      h("td", null, h("span", {class: "mono small endpoint", title: endpoint ? endpoint.url : d.endpoint_id}, endpoint ? shortUrl(endpoint.url) : d.endpoint_id)),
      h("td", null, badge(d.state)),
      h("td", {class: "attempts-cell"}, attempts),
      h("td", null, d.next_attempt_at ? timeOf(d.next_attempt_at) : h("span", {class: "muted"}, "—")),
      h("td", {class: "row-actions"}, redeliver));
  }

  /** The query of the next poll: the newest deliveries, in the state chosen. */
  function query() {
    return {limit: FETCH_LIMIT, state: stateFilter.value};
  }

  function describe(shown, state) {
    const which = state ? `${state} ` : "";
    if (!shown) return "";
    const listed = `${shown} ${which}deliver${shown === 1 ? "y" : "ies"}`;
    return shown >= FETCH_LIMIT ? `The newest ${FETCH_LIMIT} ${which}deliveries listed (older ones are not loaded).` : `${listed}.`;
  }

  return {
    /** The newest deliveries, for the next poll. */
    load() {
      return admin.get("/webhooks/deliveries", query());
    },

    render({webhooks, deliveries}) {
      const urls = JSON.stringify(webhooks.map((w) => [w.id, w.url]));
      endpointsById = new Map(webhooks.map((w) => [w.id, w]));
      noEndpoints.hidden = webhooks.length > 0;
      syncChildren(endpoints, webhooks, (w) => w.id, (w) => JSON.stringify(w), (w) => {
        const remove = h("button", {type: "button", class: "small", "aria-label": `Remove endpoint ${w.url}`}, "Remove");
        remove.addEventListener("click", () => ctx.try("Webhook endpoint removed", () => admin.run(ops.remove_webhook, {params: {id: w.id}})));
        return h("li", null, h("div", null,
          h("div", {class: "mono break"}, w.url),
          h("div", {class: "muted small"}, `events: ${w.events.join(", ")}`, w.token ? ` · token ${w.token}` : "", " · secret ", h("span", {class: "mono"}, w.secret))), remove);
      });
      const state = stateFilter.value;
      const text = describe(deliveries.length, state);
      if (summary.textContent !== text) summary.textContent = text;
      const none = state ? `No ${state} deliveries.` : "No deliveries yet: they appear when a project starts, completes or fails.";
      if (noDeliveries.textContent !== none) noDeliveries.textContent = none;
      noDeliveries.hidden = deliveries.length > 0;
      table.hidden = deliveries.length === 0;
      const newestFirst = [...deliveries].sort((a, b) => b.seq - a.seq);
      syncChildren(rows, newestFirst, (d) => d.id, (d) => urls + JSON.stringify(d), renderDelivery);
    },
  };
}
