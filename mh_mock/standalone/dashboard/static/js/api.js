// The admin API client: same-origin JSON calls under /mh-mock-api, with the admin token (if the
// server has one) from this tab's sessionStorage in the x-mh-mock-admin-token header. The token is
// never put in a URL.

export const ADMIN = "/mh-mock-api";
const TOKEN_KEY = "mh-mock-admin-token";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** A path with its {params} filled in (each one URL-encoded). */
export function fillPath(path, params) {
  return path.replace(/\{([^}]+)\}/g, (_, name) => encodeURIComponent(String(params[name] ?? "")));
}

export class Admin {
  /** ``onForbidden(message)`` is called when a call answers 403 (the token is missing or wrong). */
  constructor(onForbidden) {
    this.onForbidden = onForbidden;
  }

  /** ``path`` is under /mh-mock-api (or a full /mh-mock-api/... path, as the operation table gives). */
  async call(method, path, {body, query} = {}) {
    const url = new URL(path.startsWith(ADMIN) ? path : ADMIN + path, location.origin);
    for (const [name, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, String(value));
    }
    const headers = {Accept: "application/json"};
    const secret = token.get();
    if (secret) headers["x-mh-mock-admin-token"] = secret;
    const init = {method, headers, cache: "no-store", credentials: "same-origin", redirect: "error"};
    if (method !== "GET" && method !== "HEAD") {
      headers["Content-Type"] = "application/json"; // every write must say JSON, even with an empty body
      init.body = JSON.stringify(body ?? {});
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      throw new ApiError(0, "offline", `mh-mock is not answering (${error.message})`);
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) {
      const message = (data && typeof data.message === "string" && data.message) || text || response.statusText;
      const error = new ApiError(response.status, data && data.code, message);
      if (response.status === 403) this.onForbidden(message);
      throw error;
    }
    return data;
  }

  get(path, query) {
    return this.call("GET", path, {query});
  }

  /** Run an operation of the table: ``op`` as GET /mh-mock-api/operations lists it. */
  run(op, {params = {}, body, query} = {}) {
    return this.call(op.method, fillPath(op.path, params), {body: op.method === "GET" || op.method === "DELETE" ? undefined : body || {}, query});
  }
}
