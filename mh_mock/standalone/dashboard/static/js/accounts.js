// Accounts: balances with what was charged and refunded; set a balance (by account id); add one.

import {fill, h, nextId, syncChildren} from "./dom.js";
import {fieldFor, operationForm} from "./forms.js";

// The page loads the newest FETCH_LIMIT accounts (the server cuts the list), so a fake holding
// 30,000 accounts costs a poll no more than one holding 1,000.
const FETCH_LIMIT = 1000;

const count = (n) => n.toLocaleString("en");

export function accountsSection(ctx, root) {
  const {admin, ops} = ctx;
  const rows = h("tbody");
  const empty = h("p", {class: "muted"}, "No accounts yet: a token gets one on its first call.");
  const summary = h("p", {class: "muted small", id: "accounts-summary", "aria-live": "polite"});
  const table = h("table", {class: "data compact"},
    h("caption", {class: "sr-only"}, "Accounts, newest first"),
    h("thead", null, h("tr", null,
      h("th", {scope: "col"}, "Token"), h("th", {scope: "col"}, "Tier"),
      h("th", {scope: "col", class: "num"}, "Credits"), h("th", {scope: "col", class: "num"}, "Charged"),
      h("th", {scope: "col", class: "num"}, "Refunded"))),
    rows);

  // set a balance: choose the account (listings shorten tokens, so it goes by account id)
  const accountId = nextId("balance-account");
  const account = h("select", {id: accountId, name: "account", required: true});
  const credits = fieldFor("credits", ops.set_balance_by_id.body.properties.credits, {required: true, label: "Credits"});
  account.addEventListener("change", () => {
    const chosen = (ctx.data.accounts || []).find((a) => a.id === account.value);
    if (chosen) credits.input.value = String(chosen.credits);
  });
  const setProblem = h("p", {class: "problem", role: "alert"});
  const setForm = h("form", {class: "opform", "data-operation": "set_balance_by_id"},
    h("div", {class: "fields"},
      h("div", {class: "field"}, h("label", {for: accountId}, "Account"), h("div", {class: "control"}, account)),
      credits.node),
    h("div", {class: "actions"}, h("button", {type: "submit", class: "primary"}, "Set balance")),
    setProblem);
  setForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    setProblem.textContent = "";
    if (!account.value) {
      setProblem.textContent = "Choose an account first.";
      return;
    }
    try {
      await ctx.act("Balance set", () =>
        admin.run(ops.set_balance_by_id, {params: {id: account.value}, body: {credits: credits.read()}}));
    } catch (error) {
      setProblem.textContent = error.message;
    }
  });

  const add = operationForm(ops.add_account, {
    primary: ["token", "credits"],
    submit: "Add account",
    clear: true,
    onSubmit: (body) => ctx.act("Account added", () => admin.run(ops.add_account, {body})),
  });

  fill(root,
    summary, h("div", {class: "scroll short"}, table), empty,
    h("h3", null, "Set a balance"), setForm,
    h("details", {class: "more-block"}, h("summary", null, "Add an account"), add.form));

  let lastIds = "";
  return {
    /** The newest accounts, for the next poll. */
    load() {
      return admin.get("/accounts", {limit: FETCH_LIMIT});
    },

    render({accounts: oldestFirst, state}) {
      const accounts = [...oldestFirst].reverse(); // newest first
      const total = Math.max(state ? state.accounts : 0, accounts.length);
      const text = accounts.length < total
        ? `Showing the newest ${count(accounts.length)} of ${count(total)} accounts.`
        : total > 1 ? `${count(total)} accounts.` : "";
      if (summary.textContent !== text) summary.textContent = text;
      summary.hidden = !text;
      empty.hidden = accounts.length > 0;
      table.hidden = accounts.length === 0;
      syncChildren(rows, accounts, (a) => a.id, (a) => JSON.stringify(a), (a) =>
        h("tr", null,
          h("td", null, h("span", {class: "mono"}, a.token), h("div", {class: "muted small mono", title: "account id"}, a.id)),
          h("td", null, a.tier),
          h("td", {class: "num strong"}, a.credits.toLocaleString("en")),
          h("td", {class: "num"}, a.charged.toLocaleString("en")),
          h("td", {class: "num"}, a.refunded.toLocaleString("en"))));
      const ids = accounts.map((a) => `${a.id}:${a.token}`).join(",");
      if (ids !== lastIds) {
        lastIds = ids;
        const chosen = account.value;
        fill(account, h("option", {value: ""}, "— choose —"),
          accounts.map((a) => h("option", {value: a.id}, `${a.token} (${a.id})`)));
        account.value = accounts.some((a) => a.id === chosen) ? chosen : "";
      }
    },
  };
}
