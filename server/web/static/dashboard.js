// Refreshes the parts of a page marked data-live (counts, the fleet table, a
// kiosk's facts, screenshot and commands) every data-refresh seconds, by
// fetching the same URL: the filter in the query string is kept, nothing
// typed in a form is touched. When the session has ended, the page reloads
// (and goes to the sign-in form).
(function () {
  "use strict";
  if (!document.querySelector("[data-live]") || !window.fetch || !window.DOMParser) {
    return;
  }
  var seconds = Number(document.body.getAttribute("data-refresh")) || 15;

  function swap(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    document.querySelectorAll("[data-live]").forEach(function (old) {
      var next = old.id && fresh.getElementById(old.id);
      if (next) {
        old.replaceWith(document.importNode(next, true));
      }
    });
  }

  function refresh() {
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.redirected || response.status === 401) {
          window.location.reload();
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html) {
          swap(html);
        }
      })
      .catch(function () { /* offline for a moment: try again next time */ })
      .then(function () {
        window.setTimeout(refresh, seconds * 1000);
      });
  }

  window.setTimeout(refresh, seconds * 1000);
})();
