/* The workspace editor: autosave on a pause in typing (each save names the version
   it was made on; a conflict shows both texts and never overwrites), lint findings
   inline, the kiosk's own preview after each save, the toolbar, "mark done". */
(function () {
  "use strict";
  /* the page grid: add, remove, move pages (the API checks the editor role) */
  var grid = document.getElementById("tree-actions");
  if (grid) {
    var g = grid.dataset;
    var act = function (body) {
      body.base = g.base;
      fetch("/api/v1/workspace/" + encodeURIComponent(g.pack) + "/pages", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": g.csrf },
        body: JSON.stringify(body)
      }).then(function (r) { return r.json().then(function (b) { return { r: r, b: b }; }); })
        .then(function (x) {
          if (x.r.ok) { window.location.reload(); return; }
          var out = document.getElementById("tree-status");
          out.textContent = x.b.error; out.className = "bad";
        });
    };
    document.querySelectorAll("[data-tree]").forEach(function (b) {
      b.addEventListener("click", function () {
        if (b.dataset.tree === "remove" && !window.confirm(b.dataset.confirm)) { return; }
        act({ action: b.dataset.tree, page: b.dataset.page });
      });
    });
    var form = document.getElementById("add-page");
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      act({ action: "add", page: form.elements.page.value.trim(), title: form.elements.title.value });
    });
  }
  var root = document.getElementById("editor");
  if (!root) { return; }
  var d = root.dataset;
  var api = "/api/v1/workspace/" + encodeURIComponent(d.pack);
  var text = document.getElementById("text");
  var status = document.getElementById("status");
  var lint = document.getElementById("lint");
  var preview = document.getElementById("preview");
  var pvStatus = document.getElementById("preview-status");
  var conflict = document.getElementById("conflict");
  var base = d.base;
  /* the editor's words in the reader's language (server/words: lint.*, ws.err.*) */
  var wordsEl = document.getElementById("ws-words");
  var W = wordsEl ? JSON.parse(wordsEl.textContent) : {};
  function fill(text, args) {
    Object.keys(args || {}).forEach(function (k) { text = text.split("{" + k + "}").join(String(args[k])); });
    return text;
  }
  function words(prefix, code, args) {
    if (!code || !(prefix + code in W)) { return null; }
    var values = Object.assign({}, args || {});
    if ("kind" in values) { values.found = W["ws.err.kind." + values.kind] || values.kind; }
    return fill(W[prefix + code], values);
  }
  function findingText(f) {
    var text = words("lint.msg.", f.key, f.args);
    if (text !== null) { return text; }
    var rule = words("lint.rule.", f.rule, {});
    return rule === null ? f.message : rule + " (" + (W["ws.detail"] || "detail") + ": " + f.message + ")";
  }
  function errorText(b, status) {
    return words("ws.err.", b && b.code, b && b.args) || (b && b.error) || String(status);
  }
  var saved = text.value;
  var timer = null;
  var saving = false;
  var PAUSE_MS = 800;   /* a pause in typing: save, then check and preview (~1 s warm) */

  function say(msg, cls) { status.textContent = msg; status.className = cls || ""; }
  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": d.csrf },
      body: JSON.stringify(body)
    });
  }

  function previewUrl() {
    var portrait = document.querySelector("input[name=orient]:checked").value === "portrait";
    var large = document.getElementById("large").checked;
    return api + "/preview.png?page=" + encodeURIComponent(d.page) + "&lang=" + encodeURIComponent(d.lang) +
      "&rev=" + base + (portrait ? "&portrait=true" : "") + (large ? "&large=true" : "");
  }
  function refreshPreview() {
    if (!preview) { return; }
    var url = previewUrl();
    pvStatus.textContent = "…";
    var asked = base;
    fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (r.ok) {
        if (asked !== base) { return; }   /* a newer save asked for its own */
        preview.onload = function () { preview.dataset.version = asked; };
        preview.src = url; pvStatus.textContent = ""; return;
      }
      return r.json().then(function (b) {
        var why = errorText(b, r.status);
        if (b.findings && b.findings.length) {
          var f = b.findings.filter(function (x) { return x.level === "error"; })[0] || b.findings[0];
          why += " " + f.file + (f.line ? ":" + f.line : "") + ": " + findingText(f);
        }
        pvStatus.textContent = d.wPreviewFailed.replace("{error}", why);
      });
    }).catch(function () { pvStatus.textContent = d.wOffline; });
  }
  document.querySelectorAll("input[name=orient], #large").forEach(function (el) {
    el.addEventListener("change", refreshPreview);
  });

  function showLint(findings) {
    lint.textContent = "";
    findings.forEach(function (f) {
      var li = document.createElement("li");
      li.className = f.level === "error" ? "bad" : "warn";
      li.dataset.rule = f.rule;
      li.textContent = f.line ? fill(W["ws.finding_at"] || "{line}: {text}", { line: f.line, text: findingText(f) })
                              : findingText(f);
      lint.appendChild(li);
    });
  }
  function check() {
    var files = {}; files[d.path] = text.value;
    post(api + "/check", { base: base, files: files }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (b) { if (b) { showLint(b.findings.filter(function (f) { return f.file === d.path; })); } })
      .catch(function () {});
  }

  function save(message) {
    if (saving || text.value === saved) { return; }
    saving = true;
    var mine = text.value;
    var files = {}; files[d.path] = mine;
    say(d.wSaving);
    post(api + "/save", { base: base, message: message || ("Autosave " + d.page + "/" + d.lang), files: files })
      .then(function (r) {
        return r.json().then(function (b) { return { r: r, b: b }; });
      }).then(function (x) {
        saving = false;
        if (x.r.status === 200) {
          base = x.b.version; saved = mine; root.dataset.base = base;
          say(d.wSaved.replace("{v}", base.slice(0, 10)), "ok");
          refreshPreview(); check();
          if (text.value !== saved) { schedule(); }
        } else if (x.r.status === 409) {
          showConflict(x.b.head, mine);
        } else {
          say(d.wFailed.replace("{error}", errorText(x.b, x.r.status)), "bad");
        }
      }).catch(function () {
        saving = false;
        say(d.wOffline, "bad");   /* the text stays in the box; retry on the next pause */
        schedule(5000);
      });
  }
  function schedule(ms) {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(function () { save(); }, ms || PAUSE_MS);
  }

  function showConflict(head, mine) {
    fetch(api + "/file?path=" + encodeURIComponent(d.path) + "&rev=" + head, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (theirs) {
        document.getElementById("theirs").textContent = theirs;
        document.getElementById("mine").textContent = mine;
        conflict.hidden = false;
        conflict.dataset.head = head;
        text.readOnly = true;
        say("", "");
      });
  }
  var take = document.getElementById("take-theirs");
  if (take) {
    take.addEventListener("click", function () {
      base = conflict.dataset.head;
      text.value = saved = document.getElementById("theirs").textContent;
      conflict.hidden = true; text.readOnly = false; refreshPreview();
    });
    document.getElementById("keep-mine").addEventListener("click", function () {
      base = conflict.dataset.head;   /* saved on top of theirs: theirs stays in the history */
      text.value = document.getElementById("mine").textContent;
      saved = document.getElementById("theirs").textContent;
      conflict.hidden = true; text.readOnly = false; save("Keep my version after a conflict");
    });
  }

  if (d.canEdit === "yes") {
    text.addEventListener("input", function () { schedule(); });
    window.addEventListener("beforeunload", function (e) {
      if (text.value !== saved) { e.preventDefault(); e.returnValue = ""; }
    });
  }

  var done = document.getElementById("mark-done");
  if (done) {
    done.addEventListener("click", function () {
      post(api + "/translated", { base: base, page: d.page, lang: d.lang }).then(function (r) {
        return r.json().then(function (b) { return { r: r, b: b }; });
      }).then(function (x) {
        if (x.r.status === 200) {
          base = x.b.version; say(d.wMarked, "ok");
          var cell = document.getElementById("cell-state");
          cell.className = "cell state-up-to-date"; cell.dataset.state = "up-to-date";
          cell.textContent = d.wUpToDate;
          document.querySelectorAll(".para.changed").forEach(function (p) { p.classList.remove("changed"); });
        } else { say(d.wFailed.replace("{error}", errorText(x.b, x.r.status)), "bad"); }
      });
    });
  }

  /* toolbar: insert Markdown of the pack's subset at the caret */
  function insert(before, after) {
    var s = text.selectionStart, e = text.selectionEnd, v = text.value;
    text.value = v.slice(0, s) + before + v.slice(s, e) + (after || "") + v.slice(e);
    text.selectionStart = text.selectionEnd = e + before.length + (after || "").length;
    text.focus(); schedule();
  }
  document.querySelectorAll(".toolbar [data-md]").forEach(function (b) {
    b.addEventListener("click", function () {
      var s = text.selectionStart, v = text.value, lineStart = v.lastIndexOf("\n", s - 1) + 1;
      text.value = v.slice(0, lineStart) + b.dataset.md + v.slice(lineStart);
      text.focus(); schedule();
    });
  });
  document.querySelectorAll(".toolbar [data-wrap]").forEach(function (b) {
    b.addEventListener("click", function () { insert(b.dataset.wrap, b.dataset.wrap); });
  });
  var link = document.querySelector(".toolbar [data-link]");
  if (link) {
    link.addEventListener("change", function () {
      if (link.value) { insert("[", "](page:" + link.value + ")"); link.value = ""; }
    });
  }
  /* a picture: uploaded into media/ (the server checks it as lint does), then linked */
  var upload = document.getElementById("upload");
  if (upload) {
    upload.addEventListener("change", function () {
      var file = upload.files[0];
      if (!file) { return; }
      say(d.wSaving);
      fetch(api + "/media?name=" + encodeURIComponent(file.name) + "&base=" + base, {
        method: "POST", credentials: "same-origin", body: file,
        headers: { "X-CSRF-Token": d.csrf, "Content-Type": "application/octet-stream" }
      }).then(function (r) { return r.json().then(function (b) { return { r: r, b: b }; }); })
        .then(function (x) {
          upload.value = "";
          if (x.r.status === 200) {
            base = x.b.version;
            /* never above or inside the title line (the first line must stay '# Title') */
            var titleEnd = text.value.indexOf("\n");
            if (titleEnd < 0 || text.selectionStart <= titleEnd) {
              text.selectionStart = text.selectionEnd = text.value.length;
            }
            insert("\n![", "](" + x.b.path + ")\n");
          } else { say(d.wFailed.replace("{error}", errorText(x.b, x.r.status)), "bad"); }
        }).catch(function () { upload.value = ""; say(d.wOffline, "bad"); });
    });
  }

  if (d.canEdit === "yes") { check(); }
  refreshPreview();   /* after the page has loaded: a cold preview takes a while */
})();
