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

  // Open alerts in the tab's title ("(3) …"), and a desktop notification when
  // they grow, for a guard whose dashboard sits in a background tab. The
  // counts section carries the words (data-notify-*); only pages with counts
  // (the overview) notify.
  var baseTitle = document.title;
  var lastAlerts = null;

  function openAlerts() {
    var n = document.querySelector("#counts .count-alerts .n");
    return n ? Number(n.textContent) : null;
  }

  function watchAlerts() {
    var n = openAlerts();
    if (n === null) {
      return;
    }
    document.title = n > 0 ? "(" + n + ") " + baseTitle : baseTitle;
    var counts = document.getElementById("counts");
    if (lastAlerts !== null && n > lastAlerts && window.Notification &&
        Notification.permission === "granted") {
      new Notification(counts.getAttribute("data-notify-title").replace("{n}", String(n)), {
        body: counts.getAttribute("data-notify-body"),
        tag: "bgk-alerts",
      });
    }
    lastAlerts = n;
  }

  var ask = document.getElementById("notify");
  if (ask && window.Notification && Notification.permission === "default") {
    ask.hidden = false;
    ask.addEventListener("click", function () {
      Notification.requestPermission().then(function (answer) {
        ask.hidden = true;
        if (answer === "granted") {
          document.getElementById("notify-on").hidden = false;
        }
      });
    });
  }
  watchAlerts();

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
          watchAlerts();
        }
      })
      .catch(function () { /* offline for a moment: try again next time */ })
      .then(function () {
        window.setTimeout(refresh, seconds * 1000);
      });
  }

  window.setTimeout(refresh, seconds * 1000);
})();

// The notice form's "Before you send" box follows the text as it is typed: the
// form is posted with action=check (nothing is sent) and the box is taken from
// the answer, so the sender sees before sending which languages are missing,
// what those travellers will see, and which characters the kiosks cannot draw.
(function () {
  "use strict";
  var form = document.querySelector("form.notice-form");
  if (!form || !window.fetch || !window.DOMParser || !window.FormData) {
    return;
  }
  var timer = null;
  var asked = 0;

  function check() {
    var data = new FormData(form);
    data.set("action", "check");
    var mine = ++asked;
    // (form.action would be the buttons named "action": read the attribute)
    fetch(form.getAttribute("action"), { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html || mine !== asked) {
          return;  // an older answer, or the session ended: keep the box as it is
        }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("notice-check");
        var old = document.getElementById("notice-check");
        if (fresh && old) {
          old.replaceWith(document.importNode(fresh, true));
        }
      })
      .catch(function () {});
  }

  function soon() {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 400);
  }
  form.querySelectorAll("textarea, select").forEach(function (field) {
    field.addEventListener("input", soon);
    field.addEventListener("change", soon);
  });
  if (Array.prototype.some.call(form.querySelectorAll("textarea"), function (a) { return a.value.trim(); })) {
    check();
  }
})();
