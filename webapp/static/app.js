// The installable app (webapp/static/sw.js): registers the service worker. A file,
// as the Content-Security-Policy allows no inline script; its URL and scope
// come from the script tag's data attributes (webapp/templates/layout.jinja2).
(function () {
  var script = document.currentScript;
  if (!script || !("serviceWorker" in navigator)) { return; }
  var worker = script.dataset.worker, scope = script.dataset.scope;
  window.addEventListener("load", function () {
    navigator.serviceWorker.register(worker, { scope: scope }).catch(function () {
      // No service worker (private mode, an old browser): the site works as before.
    });
  });
})();
