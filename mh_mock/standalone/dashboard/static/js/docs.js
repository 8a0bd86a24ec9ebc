// Swagger UI on this server's /openapi.json, from the vendored bundle (../swagger-ui/). Nothing is
// fetched from elsewhere: no validator badge (validatorUrl: null), no CDN. "Try it out" sends its
// requests to this page's own origin (the document's server URL may name another loopback
// address) and adds the admin token the dashboard keeps in this tab's sessionStorage, if any.
(function () {
  "use strict";

  var TOKEN_KEY = "mh-mock-admin-token";

  function sameOrigin(url) {
    try {
      var parsed = new URL(url, window.location.origin);
      if (parsed.origin !== window.location.origin && /^(127\.|localhost$|\[::1\]$)/.test(parsed.hostname)) {
        return window.location.origin + parsed.pathname + parsed.search;
      }
      return parsed.href;
    } catch (error) {
      return url;
    }
  }

  window.addEventListener("DOMContentLoaded", function () {
    window.ui = window.SwaggerUIBundle({
      url: "/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      validatorUrl: null,
      tryItOutEnabled: false,
      displayRequestDuration: true,
      defaultModelsExpandDepth: 0,
      presets: [window.SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
      requestInterceptor: function (request) {
        request.url = sameOrigin(request.url);
        var secret = window.sessionStorage.getItem(TOKEN_KEY);
        if (secret && new URL(request.url, window.location.origin).pathname.indexOf("/mh-mock-api/") === 0) {
          request.headers["x-mh-mock-admin-token"] = secret;
        }
        return request;
      },
    });
  });
})();
