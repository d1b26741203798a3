// A service worker that makes the page cross-origin isolated on static hosts that cannot send
// the COOP/COEP headers themselves (python -m http.server, GitHub Pages): it adds them to
// every same-origin response. Isolation lets LiteRT.js run its multi-threaded WebAssembly build
// (SharedArrayBuffer). It caches nothing and changes no content.

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
self.addEventListener("fetch", (event) => {
  if (new URL(event.request.url).origin !== self.location.origin) return;
  event.respondWith(
    fetch(event.request).then((response) => {
      if (response.status < 200 || response.status > 299) return response;
      const headers = new Headers(response.headers);
      headers.set("Cross-Origin-Opener-Policy", "same-origin");
      headers.set("Cross-Origin-Embedder-Policy", "require-corp");
      return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
    }),
  );
});
