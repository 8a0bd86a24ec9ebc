// HTTP Archive 1.2 (http://www.softwareishard.com/blog/har-12-spec/) from journal entries, built
// in the page. The journal keeps no headers or timings, so those are empty (-1 / 0); what mh-mock
// knows beyond HAR (route, masked token, injected fault, project) is in "_"-prefixed fields, which
// the format reserves for custom data.

const REASONS = {
  200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
  402: "Payment Required", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
  409: "Conflict", 413: "Payload Too Large", 422: "Unprocessable Entity", 429: "Too Many Requests",
  500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
};

function queryString(url) {
  try {
    return [...new URL(url).searchParams].map(([name, value]) => ({name, value}));
  } catch {
    return [];
  }
}

function bodyText(body) {
  if (body === null || body === undefined) return null;
  return typeof body === "string" ? body : JSON.stringify(body);
}

function byteLength(text) {
  return text === null ? 0 : new TextEncoder().encode(text).length;
}

/** One HAR entry for one journal call. */
export function harEntry(call) {
  const requestText = bodyText(call.body);
  const responseText = bodyText(call.response);
  const request = {
    method: call.method,
    url: call.url,
    httpVersion: "HTTP/1.1",
    cookies: [],
    headers: [],
    queryString: queryString(call.url),
    headersSize: -1,
    bodySize: requestText === null ? 0 : byteLength(requestText),
  };
  if (requestText !== null) request.postData = {mimeType: "application/json", params: [], text: requestText};
  const answered = call.status > 0;
  const response = {
    status: call.status,
    statusText: answered ? REASONS[call.status] || "" : "",
    httpVersion: answered ? "HTTP/1.1" : "",
    cookies: [],
    headers: responseText === null ? [] : [{name: "content-type", value: "application/json"}],
    content: {size: byteLength(responseText), mimeType: responseText === null ? "" : "application/json", ...(responseText === null ? {} : {text: responseText})},
    redirectURL: "",
    headersSize: -1,
    bodySize: answered ? byteLength(responseText) : -1,
  };
  const entry = {
    startedDateTime: call.at,
    time: 0,
    request,
    response,
    cache: {},
    timings: {send: 0, wait: 0, receive: 0},
    _seq: call.seq,
    _route: call.route,
    _token: call.token,
    _owner: call.owner,
    _projectId: call.project_id,
    _fault: call.fault,
    _handled: call.handled,
  };
  if (call.fault) entry.comment = `mh-mock injected a ${call.fault} fault`;
  if (!answered) entry._error = call.fault ? `no answer (${call.fault})` : "no answer";
  return entry;
}

/** A HAR 1.2 document for ``calls`` (journal entries, oldest first). */
export function toHar(calls, {version = "", serverUrl = ""} = {}) {
  return {
    log: {
      version: "1.2",
      creator: {name: "mh-mock", version: version || "unknown"},
      browser: {name: "mh-mock dashboard", version: version || "unknown"},
      pages: [],
      entries: calls.map(harEntry),
      comment: `Calls served by the mh-mock fake at ${serverUrl}, from its journal (tokens shortened).`,
    },
  };
}
