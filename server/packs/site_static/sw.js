// The service worker of a pack's web copy (written by `bgk pack site`).
// FILES lists the site's files: the shared ones are kept at once, a
// language's pages (with their pictures and fonts) when a page in that
// language is read. Answers come from the kept copy first, so the site reads
// offline; a new pack version has a new CACHE name and replaces the old copy.
const PREFIX = "__PREFIX__";
const CACHE = PREFIX + "__VERSION__";
const FILES = __FILES__;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES.shared)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith(PREFIX) && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("message", (event) => {
  const files = FILES.languages[event.data && event.data.keep];
  if (files) event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(files)));
});

self.addEventListener("fetch", (event) => {
  if (event.request.method !== "GET") return;
  event.respondWith(
    caches.match(event.request, { ignoreSearch: true }).then((kept) => kept || fetch(event.request))
  );
});
