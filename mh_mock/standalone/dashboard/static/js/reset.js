// Seeds and reset: forget all state, optionally preloading a bundled seed (GET /mh-mock-api/seeds).

import {fill, h, nextId} from "./dom.js";
import {operationForm} from "./forms.js";

export function resetSection(ctx, root, afterReset) {
  const {admin, ops} = ctx;
  const seedList = h("ul", {class: "plain seeds"});

  // the "preload" option, as a choice of the bundled seeds
  const seedId = nextId("seed");
  const seedSelect = h("select", {id: seedId, name: "preload"}, h("option", {value: ""}, "no seed (empty fake)"));
  const seedField = {
    name: "preload",
    input: seedSelect,
    node: h("div", {class: "field"}, h("label", {for: seedId}, "Bundled seed"), h("div", {class: "control"}, seedSelect)),
    read: () => seedSelect.value || undefined,
    reset: () => (seedSelect.value = ""),
  };

  let armed = null;
  const form = operationForm(ops.reset, {
    fields: ["preload", ...Object.keys(ops.reset.body.properties).filter((n) => n !== "preload")],
    primary: ["preload", "progression", "frozen_clock", "starting_balance"],
    custom: {preload: seedField},
    labels: {seed: "RNG seed"},
    submit: "Reset…",
    buttonClass: "danger",
    moreLabel: "More options (every Config option a reset takes)",
    intro: "Forgets every account, project, upload, rule, fault, webhook and the journal. Options given here last until the next reset.",
    onSubmit: async (body) => {
      if (!armed) {
        form.button.textContent = "Confirm reset: forget everything";
        form.button.classList.add("armed");
        armed = setTimeout(() => {
          armed = null;
          form.button.textContent = "Reset…";
          form.button.classList.remove("armed");
        }, 5000);
        return;
      }
      clearTimeout(armed);
      armed = null;
      form.button.textContent = "Reset…";
      form.button.classList.remove("armed");
      await ctx.act(body.preload ? `Reset with seed ${body.preload}` : "Reset", () => admin.run(ops.reset, {body}));
      afterReset();
    },
  });

  fill(root, form.form, h("h3", null, "Bundled seeds"), seedList);

  admin.run(ops.seeds).then((seeds) => {
    for (const seed of seeds) seedSelect.append(h("option", {value: seed.name}, seed.name));
    fill(seedList, seeds.map((seed) => h("li", null, h("strong", {class: "mono"}, seed.name), " ", h("span", {class: "muted small"}, seed.description))));
  }, () => fill(seedList, h("li", {class: "muted"}, "(could not list the seeds)")));

  return {render() {}};
}
