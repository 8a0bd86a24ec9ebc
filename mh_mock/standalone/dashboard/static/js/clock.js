// Clock and progression: the fake's time, frozen or running, what moves jobs on; advance, switch.

import {badge, fill, h} from "./dom.js";
import {humanize, operationForm} from "./forms.js";

export function clockSection(ctx, root, top) {
  const {admin, ops} = ctx;
  const now = h("p", {class: "now mono", id: "clock-now", "aria-live": "off"});
  const local = h("p", {class: "muted small"});
  const badges = h("p", {class: "badges"});
  const stats = h("dl", {class: "stats"});

  const advance = operationForm(ops.advance, {
    fields: ["seconds"],
    defaults: {seconds: 10},
    hints: false,
    submit: "Advance clock",
    onSubmit: (body) => ctx.act(`Advanced the clock by ${body.seconds} s`, () => admin.run(ops.advance, {body})),
  });
  advance.form.classList.add("inline");

  const choices = (ops.set_progression.body.properties.progression.enum || []).map((value) => {
    const button = h("button", {type: "button", class: "seg", "aria-pressed": "false", dataset: {value}}, humanize(value));
    button.addEventListener("click", () =>
      ctx.try(`Progression: ${value}`, () => admin.run(ops.set_progression, {body: {progression: value}})));
    return button;
  });
  const progression = h("div", {class: "segmented", role: "group", "aria-label": "Progression"}, choices);

  const finishAll = h("button", {type: "button"}, "Finish all unfinished");
  finishAll.addEventListener("click", () =>
    ctx.try("Finished every unfinished project", () => admin.run(ops.finish_all, {body: {}})));

  fill(root,
    now, local, badges,
    advance.form,
    h("div", {class: "row"}, h("span", {class: "label"}, "Progression"), progression),
    h("p", {class: "muted small"}, "Clock: each status lasts its duration on the fake's clock. Poll: each GET of a project moves it one status on."),
    h("div", {class: "actions"}, finishAll),
    stats);

  let last = "";
  return {
    render({state}) {
      const signature = JSON.stringify(state);
      if (signature === last) return;
      last = signature;
      now.textContent = state.now;
      local.textContent = `${new Date(state.epoch * 1000).toLocaleString()} (your time zone)`;
      const frozen = state.frozen ? badge("frozen", "frozen") : badge("running", "running");
      const mode = badge(`${state.progression} progression`, "mode");
      fill(badges, frozen, " ", mode);
      fill(top.now, state.now.replace("T", " ").replace("Z", " UTC"));
      fill(top.badges, state.frozen ? badge("frozen", "frozen") : badge("running", "running"), " ", badge(state.progression, "mode"));
      for (const button of choices) button.setAttribute("aria-pressed", String(button.dataset.value === state.progression));
      fill(stats,
        h("div", null, h("dt", null, "Projects"), h("dd", null, String(state.projects))),
        h("div", null, h("dt", null, "Accounts"), h("dd", null, String(state.accounts))),
        h("div", null, h("dt", null, "Pending webhooks"), h("dd", null, String(state.pending_deliveries))));
    },
  };
}
