/* The review page: while the version builds, look again every few seconds; the
   decision buttons call the API (which checks the publisher role itself). */
(function () {
  "use strict";
  /* the page grid's "request publication" */
  var ask = document.getElementById("request-review");
  if (ask) {
    ask.addEventListener("submit", function (e) {
      e.preventDefault();
      var out = document.getElementById("request-status");
      var to = ask.elements.to.value.split(",").map(function (s) { return s.trim(); })
        .filter(function (s) { return s; });
      out.textContent = ask.dataset.working; out.className = "";
      ask.querySelector("button").disabled = true;
      fetch("/api/v1/workspace/" + encodeURIComponent(ask.dataset.pack) + "/reviews", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": ask.dataset.csrf },
        body: JSON.stringify({ to: to, version: ask.dataset.base, note: ask.elements.note.value })
      }).then(function (r) { return r.json().then(function (b) { return { r: r, b: b }; }); })
        .then(function (x) {
          if (x.r.ok) { window.location.href = x.b.url; return; }
          out.textContent = x.b.error || x.b.detail; out.className = "bad";
          ask.querySelector("button").disabled = false;
        });
    });
  }
  var root = document.getElementById("review");
  if (!root) { return; }
  var d = root.dataset;
  if (d.state === "building") {
    window.setTimeout(function () { window.location.reload(); }, 3000);
    return;
  }
  var status = document.getElementById("rv-status");
  document.querySelectorAll("[data-act]").forEach(function (button) {
    button.addEventListener("click", function () {
      var act = button.dataset.act;
      var words = document.getElementById("rv-comment").value.trim();
      if (act === "reject" && !words) { status.textContent = d.rejectNeeds; status.className = "bad"; return; }
      if (act === "comments" && !words) { document.getElementById("rv-comment").focus(); return; }
      var body = act === "comments" ? { text: words } : { comment: words };
      status.textContent = d.working; status.className = "";
      document.querySelectorAll("[data-act]").forEach(function (b) { b.disabled = true; });
      fetch("/api/v1/reviews/" + d.id + "/" + act, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": d.csrf },
        body: JSON.stringify(body)
      }).then(function (r) { return r.json().then(function (b) { return { r: r, b: b }; }); })
        .then(function (x) {
          if (x.r.ok) { window.location.reload(); return; }
          status.textContent = x.b.error || x.b.detail; status.className = "bad";
          document.querySelectorAll("[data-act]").forEach(function (b) { b.disabled = false; });
        });
    });
  });
})();
