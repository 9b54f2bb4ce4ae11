// Lets the pack's web copy be read offline once it was opened (a traveller
// crossing into a country without their data plan): a service worker keeps the
// pages of the language being read, its fonts and its pictures. Nothing about
// the reader is kept or sent anywhere; no cookies.
(function () {
  if (!("serviceWorker" in navigator) || !/^https?:$/.test(location.protocol)) return;
  // offline.js sits at the site's root, beside sw.js: the worker's scope is the whole site
  var worker = new URL("sw.js", document.currentScript.src).href;
  var lang = (document.documentElement.lang || "").split("-")[0];
  navigator.serviceWorker.register(worker).then(function () {
    return navigator.serviceWorker.ready;
  }).then(function (reg) {
    if (reg.active && lang) reg.active.postMessage({ keep: lang });
  }).catch(function () { /* reading online still works */ });
})();
