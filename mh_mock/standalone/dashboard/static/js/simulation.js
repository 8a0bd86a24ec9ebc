// Simulation: outcome rules (scenarios), random failures, "fail next N", and HTTP faults.

import {fill, h, syncChildren} from "./dom.js";
import {humanize, operationForm} from "./forms.js";

/** "key: value" chips for every field of a rule or fault but its id (values as text). */
function describe(item, skip = ["id"]) {
  return Object.entries(item)
    .filter(([key, value]) => !skip.includes(key) && value !== null && value !== undefined && value !== false)
    .map(([key, value]) => h("span", {class: "chip"}, h("span", {class: "muted"}, `${humanize(key)}: `), typeof value === "string" ? value : JSON.stringify(value)));
}

export function simulationSection(ctx, root) {
  const {admin, ops} = ctx;

  // ------------------------------------------------------------ scenarios
  const rules = h("ul", {class: "items", "aria-label": "Outcome rules"});
  const noRules = h("p", {class: "muted small"}, "No rules: new jobs end as their input implies, else complete.");
  const addScenario = operationForm(ops.add_scenario, {
    primary: ["outcome", "endpoint", "times", "name_contains", "prompt_contains"],
    submit: "Add scenario",
    onSubmit: (body) => ctx.act("Scenario added", () => admin.run(ops.add_scenario, {body})),
  });
  const clearScenarios = h("button", {type: "button"}, "Clear scenarios");
  clearScenarios.addEventListener("click", () => ctx.try("Scenarios cleared", () => admin.run(ops.clear_scenarios)));

  // ------------------------------------------------------------ random failures, fail next
  const random = h("p", {class: "small"});
  const failRandomly = operationForm(ops.fail_randomly, {
    submit: "Set random failures",
    onSubmit: (body) => ctx.act(body.ratio === null ? "Random failures off" : `Random failures: ${body.ratio}`, () => admin.run(ops.fail_randomly, {body})),
  });
  const randomOff = h("button", {type: "button"}, "Turn off");
  randomOff.addEventListener("click", () => ctx.try("Random failures off", () => admin.run(ops.fail_randomly, {body: {ratio: null}})));
  failRandomly.form.querySelector(".actions").append(randomOff);
  const failNext = operationForm(ops.fail_next, {
    primary: ["count", "code", "endpoint"],
    submit: "Fail next",
    onSubmit: (body) => ctx.act(`The next ${body.count} job(s) will fail`, () => admin.run(ops.fail_next, {body})),
  });

  // ------------------------------------------------------------ faults
  const faults = h("ul", {class: "items", "aria-label": "Faults"});
  const noFaults = h("p", {class: "muted small"}, "No faults: every call is answered normally.");
  const addFault = operationForm(ops.add_fault, {
    primary: ["kind", "route", "times", "nth", "status", "retry_after", "seconds"],
    labels: {seconds: "Delay (s)"}, // "Seconds" is the clock's Advance field
    submit: "Add fault",
    onSubmit: (body) => ctx.act(`Fault added: ${body.kind}`, () => admin.run(ops.add_fault, {body})),
  });
  const clearFaults = h("button", {type: "button"}, "Clear faults");
  clearFaults.addEventListener("click", () => ctx.try("Faults cleared", () => admin.run(ops.clear_faults)));

  fill(root, h("div", {class: "grid three"},
    h("section", {"aria-labelledby": "scenarios-title", class: "panel"},
      h("h3", {id: "scenarios-title"}, "Scenarios"),
      h("p", {class: "muted small"}, ops.add_scenario.summary, ": the first matching rule decides how a new job ends."),
      rules, noRules, h("div", {class: "actions"}, clearScenarios), addScenario.form),
    h("section", {"aria-labelledby": "failures-title", class: "panel"},
      h("h3", {id: "failures-title"}, "Failures"),
      h("h4", null, "Random failures"), random, failRandomly.form,
      h("h4", null, "Fail next N"), failNext.form),
    h("section", {"aria-labelledby": "faults-title", class: "panel"},
      h("h3", {id: "faults-title"}, "Faults"),
      h("p", {class: "muted small"}, "HTTP faults strike API and storage calls before the fake sees them (never the admin API)."),
      faults, noFaults, h("div", {class: "actions"}, clearFaults), addFault.form)));

  return {
    render({scenarios, faults: faultList}) {
      noRules.hidden = scenarios.rules.length > 0;
      syncChildren(rules, scenarios.rules, (r) => r.id, (r) => JSON.stringify(r), (rule) => {
        const remove = h("button", {type: "button", class: "small", "aria-label": `Remove scenario ${rule.id}`}, "Remove");
        remove.addEventListener("click", () => ctx.try("Scenario removed", () => admin.run(ops.remove_scenario, {params: {id: rule.id}})));
        return h("li", null, h("div", {class: "chips"}, describe(rule)), remove);
      });
      const r = scenarios.random;
      random.textContent = r ? `On: ${Math.round(r.ratio * 1000) / 10} % of new jobs fail (codes: ${r.codes.join(", ")}).` : "Off.";
      noFaults.hidden = faultList.length > 0;
      syncChildren(faults, faultList, (f) => f.id, (f) => JSON.stringify(f), (fault) => {
        const remove = h("button", {type: "button", class: "small", "aria-label": `Remove fault ${fault.id}`}, "Remove");
        remove.addEventListener("click", () => ctx.try("Fault removed", () => admin.run(ops.remove_fault, {params: {id: fault.id}})));
        return h("li", null, h("div", {class: "chips"}, h("strong", null, fault.kind), describe(fault, ["id", "kind"])), remove);
      });
    },
  };
}
