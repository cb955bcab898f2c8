// The user app's service worker (served at /sw.js, scope /; see
// webapp/views/app_shell.py). It makes the app installable and shows the
// offline page instead of a browser error when a page cannot be loaded.
//
// Money is never cached: it keeps ONLY the offline page, the stylesheet and the
// icons (the same for everyone). Pages, balances, forms and answers always come
// from the network; when that fails a page becomes the offline page, which says
// nothing was sent (a form posted offline never reached the server).
"use strict";

var VERSION = "wallet-shell-v1";
var SCOPE = self.registration.scope;  // ends with "/"
var OFFLINE = SCOPE + "offline";
var OFFLINE_FORM = SCOPE + "offline/form";  // a form that failed: did it arrive?
var SHELL = [OFFLINE, OFFLINE_FORM, SCOPE + "static/style.css", SCOPE + "static/favicon.svg",
             SCOPE + "static/icon-192.png", SCOPE + "static/icon-512.png"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(VERSION).then(function (cache) {
    // No cookies: the shell is the same for everyone, signed in or not.
    return cache.addAll(SHELL.map(function (url) {
      return new Request(url, { credentials: "omit", cache: "reload" });
    }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) { return name !== VERSION; })
      .map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.mode === "navigate") {
    // Always the network (never a cached page); the offline page if it fails.
    var page = request.method === "GET" ? OFFLINE : OFFLINE_FORM;
    event.respondWith(fetch(request).catch(function () {
      return caches.match(page, { cacheName: VERSION });
    }));
    return;
  }
  if (request.method === "GET" && SHELL.indexOf(request.url) !== -1) {
    // The shell's files: the network first (fresh), the kept copy offline.
    event.respondWith(fetch(request).catch(function () {
      return caches.match(request, { cacheName: VERSION });
    }));
  }
  // Anything else: the browser's own handling, untouched and not kept.
});
