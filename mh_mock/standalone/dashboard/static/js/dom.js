// Small DOM helpers. Every string that reaches the page goes through a text node or an
// attribute value set with setAttribute: nothing here (or anywhere in the dashboard) parses HTML.

/** An element: h("button", {class: "primary", onclick: f}, "Save"). Children: nodes, strings, arrays, null. */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "value" || key === "checked" || key === "selected" || key === "disabled" || key === "hidden" || key === "open") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

/** Append children (text for anything that is not a Node). */
export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

let uid = 0;
/** A fresh id for label/aria wiring. */
export function nextId(prefix = "f") {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A status badge; ``kind`` picks the colour (a project status or an HTTP class). */
export function badge(text, kind = text) {
  return h("span", {class: `badge b-${String(kind).replace(/[^a-z0-9_-]/gi, "")}`}, text);
}

/** The badge kind of an HTTP status: 2xx ok, 3xx info, 4xx warn, 5xx and 0 (no answer) bad. */
export function httpKind(status) {
  if (!status) return "bad";
  if (status < 300) return "ok";
  if (status < 400) return "info";
  if (status < 500) return "warn";
  return "bad";
}

/** JSON, pretty, as text in a <pre>. */
export function jsonBlock(value, label) {
  return h("pre", {class: "json", tabindex: "0", "aria-label": label || null}, value === undefined ? "" : JSON.stringify(value, null, 2));
}

/** "16:36:06" from an ISO timestamp (UTC, the fake's clock), with the full value as a title. */
export function timeOf(iso) {
  if (!iso) return h("span", {class: "muted"}, "—");
  const text = typeof iso === "string" && iso.length >= 19 ? iso.slice(11, 19) : String(iso);
  return h("time", {datetime: iso, title: iso}, text);
}

/** Seconds between two ISO timestamps, as "+1.5s" / "+2m 3s". */
export function delta(fromIso, toIso) {
  const s = (Date.parse(toIso) - Date.parse(fromIso)) / 1000;
  if (!Number.isFinite(s)) return "";
  return "+" + duration(s);
}

export function duration(s) {
  if (s < 60) return `${Number.isInteger(s) ? s : s.toFixed(1)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${Math.round(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.round((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.round((s % 86400) / 3600)}h`;
}

/** A URL usable by this page: same-origin http(s) only (download URLs point at the server's public URL). */
export function localUrl(url, publicUrl) {
  let parsed;
  try {
    parsed = new URL(url, location.origin);
  } catch {
    return null;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return null;
  if (publicUrl && parsed.origin !== location.origin) {
    // The server's public URL and the address this tab uses may differ (127.0.0.1 / localhost):
    // same server, so ask it through this origin (the page's Content-Security-Policy allows only that).
    const base = publicUrl.replace(/\/+$/, "");
    if (parsed.href.startsWith(base + "/")) return location.origin + parsed.href.slice(base.length);
    return null;
  }
  return parsed.origin === location.origin ? parsed.href : null;
}

/**
 * Keep ``container``'s children in step with ``items``: a child is re-rendered only when its
 * item's signature changed, so focus, open <details> and playing audio survive a poll.
 */
export function syncChildren(container, items, keyOf, signatureOf, render) {
  // leading children without a key (a <caption>, a <thead>) stay first
  let fixed = 0;
  while (fixed < container.children.length && container.children[fixed].dataset.key === undefined) fixed += 1;
  const old = new Map();
  for (const child of container.children) if (child.dataset.key !== undefined) old.set(child.dataset.key, child);
  const wanted = items.map((item) => {
    const key = String(keyOf(item));
    const signature = signatureOf(item);
    let node = old.get(key);
    if (!node || node._signature !== signature) {
      const fresh = render(item);
      fresh.dataset.key = key;
      fresh._signature = signature;
      if (node) node.replaceWith(fresh);
      node = fresh;
    }
    old.delete(key);
    return node;
  });
  for (const gone of old.values()) gone.remove();
  wanted.forEach((node, index) => {
    const at = container.children[fixed + index];
    if (at !== node) container.insertBefore(node, at || null);
  });
  return wanted;
}

/** Save text as a file the browser downloads (export buttons). */
export function saveFile(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], {type}));
  const link = h("a", {href: url, download: name, hidden: true});
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * A button that needs two presses for an irreversible action: the first press turns it into
 * "Confirm …" for a few seconds, the second does it.
 */
export function confirmButton(label, confirmLabel, action, props = {}) {
  let armed = null;
  const button = h("button", {type: "button", ...props}, label);
  button.addEventListener("click", async () => {
    if (!armed) {
      button.textContent = confirmLabel;
      button.classList.add("armed");
      armed = setTimeout(() => {
        armed = null;
        button.textContent = label;
        button.classList.remove("armed");
      }, 4000);
      return;
    }
    clearTimeout(armed);
    armed = null;
    button.textContent = label;
    button.classList.remove("armed");
    await action();
  });
  return button;
}
