// Forms built from the operation table (GET /mh-mock-api/operations): one labelled control per
// property of an operation's body schema. Enums become selects, booleans a yes/no choice, numbers
// number fields (with the schema's bounds), arrays of enums checkboxes, other arrays a
// comma-separated list, and anything else (objects, one-of) a text field read as JSON when it
// parses. Values left empty are not sent, so the server's defaults apply.

import {h, nextId} from "./dom.js";

/** "retry_after" → "Retry after". */
export function humanize(name) {
  const words = name.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The JSON types a schema allows (from type, enum, or the alternatives of oneOf/anyOf). */
export function schemaTypes(schema) {
  if (!schema || typeof schema !== "object") return [];
  if (Array.isArray(schema.type)) return schema.type;
  if (typeof schema.type === "string") return [schema.type];
  if (Array.isArray(schema.enum)) {
    return [...new Set(schema.enum.map((v) => (v === null ? "null" : Number.isInteger(v) ? "integer" : typeof v)))];
  }
  const alternatives = schema.oneOf || schema.anyOf;
  if (Array.isArray(alternatives)) return [...new Set(alternatives.flatMap(schemaTypes))];
  return [];
}

function hintFor(schema) {
  const parts = [];
  if (schema.description) parts.push(schema.description);
  // bounds worth reading (0–1, 0–600); "1–1000000" says nothing
  const bounded = (v) => typeof v === "number" && Math.abs(v) <= 10_000;
  if (bounded(schema.minimum) && bounded(schema.maximum)) parts.push(`${schema.minimum}–${schema.maximum}`);
  return parts.join("; ");
}

function setNumberBounds(input, schema) {
  const bound = (v) => typeof v === "number" && Math.abs(v) < Number.MAX_SAFE_INTEGER;
  if (bound(schema.minimum)) input.min = String(schema.minimum);
  if (bound(schema.maximum)) input.max = String(schema.maximum);
  if (bound(schema.exclusiveMinimum)) input.min = String(schema.exclusiveMinimum);
}

/** Parse a free-form value: JSON when it looks like JSON, else the string itself (if allowed). */
function parseLoose(text, types) {
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  if (/^[[{"\d-]|^(true|false|null)$/.test(trimmed)) {
    try {
      return JSON.parse(trimmed);
    } catch (error) {
      if (!types.includes("string") || /^[[{]/.test(trimmed)) throw new Error(`not valid JSON (${error.message})`);
    }
  }
  if (types.length && !types.includes("string")) throw new Error("expects JSON, for example [1, 3] or {\"queued\": 1}");
  return text;
}

/**
 * One control for a property. Returns {node, input, read, reset}: ``read()`` gives the value to
 * send, or undefined to leave the property out (it throws with a message for a bad value).
 */
export function fieldFor(name, schema, {required = false, label = humanize(name), id = nextId(name), hints = true} = {}) {
  const types = schemaTypes(schema);
  const nullable = types.includes("null");
  const hint = hints ? hintFor(schema) : "";
  const hintId = hint ? `${id}-hint` : null;
  const describedBy = hintId ? {"aria-describedby": hintId} : {};
  let input;
  let read;
  let extra = null;

  if (Array.isArray(schema.enum)) {
    input = h("select", {id, name, required, ...describedBy},
      required ? null : h("option", {value: ""}, "—"),
      schema.enum.filter((v) => v !== null).map((v) => h("option", {value: JSON.stringify(v)}, String(v))),
      nullable ? h("option", {value: "null"}, "null") : null);
    read = () => (input.value === "" ? undefined : JSON.parse(input.value));
  } else if (types.length === 1 && types[0] === "boolean") {
    if (required) {
      input = h("input", {id, name, type: "checkbox", ...describedBy});
      read = () => input.checked;
    } else {
      input = h("select", {id, name, ...describedBy},
        h("option", {value: ""}, "—"), h("option", {value: "true"}, "yes"), h("option", {value: "false"}, "no"));
      read = () => (input.value === "" ? undefined : input.value === "true");
    }
  } else if (types.includes("array") && schema.items && Array.isArray(schema.items.enum)) {
    const boxes = schema.items.enum.map((v) => {
      const box = h("input", {type: "checkbox", value: JSON.stringify(v), id: nextId(name)});
      return {box, node: h("label", {class: "check"}, box, String(v))};
    });
    input = h("fieldset", {id, class: "checks", ...describedBy}, h("legend", {class: "sr-only"}, label), boxes.map((b) => b.node));
    read = () => {
      const chosen = boxes.filter((b) => b.box.checked).map((b) => JSON.parse(b.box.value));
      return chosen.length ? chosen : undefined;
    };
    input._reset = () => boxes.forEach((b) => (b.box.checked = false));
  } else if (types.length === 1 && types[0] === "array") {
    const itemTypes = schemaTypes(schema.items);
    input = h("input", {id, name, type: "text", placeholder: "comma-separated", required, autocomplete: "off", ...describedBy});
    read = () => {
      const items = input.value.split(",").map((s) => s.trim()).filter(Boolean);
      if (!items.length) return undefined;
      return itemTypes.includes("number") || itemTypes.includes("integer") ? items.map(Number) : items;
    };
  } else if (types.length && types.every((t) => t === "integer" || t === "number" || t === "null")) {
    input = h("input", {id, name, type: "number", step: types.includes("integer") ? "1" : "any", required, inputmode: "decimal", ...describedBy});
    setNumberBounds(input, schema);
    read = () => (input.value === "" ? undefined : Number(input.value));
  } else if (types.length && types.every((t) => t === "string" || t === "null")) {
    input = h("input", {id, name, type: "text", required, autocomplete: "off", spellcheck: "false", ...describedBy});
    if (typeof schema.maxLength === "number") input.maxLength = schema.maxLength;
    read = () => (input.value === "" ? undefined : input.value);
  } else {
    // objects, one-of alternatives, mixed types: JSON (or a plain string where strings are allowed)
    input = h("input", {id, name, type: "text", required, autocomplete: "off", spellcheck: "false",
      placeholder: types.includes("string") ? "text or JSON" : "JSON", ...describedBy});
    read = () => parseLoose(input.value, types);
  }

  if (nullable && !Array.isArray(schema.enum) && input.tagName === "INPUT" && input.type !== "text") {
    const nullBox = h("input", {type: "checkbox", id: `${id}-null`, "aria-label": `${label}: send null`});
    nullBox.addEventListener("change", () => (input.disabled = nullBox.checked));
    extra = h("label", {class: "check null"}, nullBox, "null");
    const readValue = read;
    read = () => (nullBox.checked ? null : readValue());
    input._resetNull = () => {
      nullBox.checked = false;
      input.disabled = false;
    };
  }

  const reset = () => {
    if (input._reset) input._reset();
    else if (input.type === "checkbox") input.checked = false;
    else input.value = "";
    if (input._resetNull) input._resetNull();
  };
  // the required mark sits outside the <label>, so the accessible name is the field's name alone
  const mark = required ? h("span", {class: "req", "aria-hidden": "true", title: "required"}, "*") : null;
  const labelNode = h("div", {class: "label-row"}, input.tagName === "FIELDSET"
    ? h("span", {class: "label", id: `${id}-label`}, label)
    : h("label", {for: id}, label), mark);
  if (input.tagName === "FIELDSET") input.setAttribute("aria-labelledby", `${id}-label`);
  const node = h("div", {class: `field${input.type === "checkbox" ? " field-check" : ""}`},
    labelNode, h("div", {class: "control"}, input, extra), hintId ? h("small", {id: hintId, class: "hint"}, hint) : null);
  return {name, node, input, read, reset};
}

/**
 * A form for ``op`` (an entry of the operation table).
 *
 * options: ``fields`` (names to show, in order; default all), ``primary`` (shown; the rest go under
 * "More options"), ``custom`` ({name: field} replacing a generated field), ``defaults`` ({name:
 * value}), ``submit`` (button label), ``onSubmit(body)`` (async; its result is shown by the caller),
 * ``clear`` (empty the fields after success).
 */
export function operationForm(op, options = {}) {
  const schema = op.body || {properties: {}};
  const required = new Set(schema.required || []);
  const names = options.fields || Object.keys(schema.properties || {});
  const fields = names
    .filter((name) => schema.properties && schema.properties[name])
    .map((name) => (options.custom && options.custom[name]) || fieldFor(name, schema.properties[name], {required: required.has(name), label: options.labels && options.labels[name], hints: options.hints !== false}));
  for (const [name, value] of Object.entries(options.defaults || {})) {
    const field = fields.find((f) => f.name === name);
    if (field) field.input.value = typeof value === "string" ? value : JSON.stringify(value);
  }
  const primary = options.primary ? fields.filter((f) => options.primary.includes(f.name)) : fields;
  const secondary = options.primary ? fields.filter((f) => !options.primary.includes(f.name)) : [];
  const problem = h("p", {class: "problem", role: "alert"});
  const button = h("button", {type: "submit", class: options.buttonClass || "primary"}, options.submit || humanize(op.name));
  const form = h("form", {class: "opform", "data-operation": op.name, novalidate: false},
    options.intro ? h("p", {class: "muted small"}, options.intro) : null,
    h("div", {class: "fields"}, primary.map((f) => f.node)),
    secondary.length ? h("details", {class: "more"}, h("summary", null, options.moreLabel || "More options"), h("div", {class: "fields"}, secondary.map((f) => f.node))) : null,
    h("div", {class: "actions"}, button, options.after || null),
    problem);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.textContent = "";
    const body = {};
    for (const field of fields) {
      let value;
      try {
        value = field.read();
      } catch (error) {
        problem.textContent = `${humanize(field.name)}: ${error.message}`;
        field.input.focus();
        return;
      }
      if (value !== undefined) body[field.name] = value;
    }
    button.disabled = true;
    try {
      await options.onSubmit(body);
      if (options.clear) fields.forEach((f) => f.reset());
    } catch (error) {
      problem.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  });
  return {form, fields, problem, button};
}
