// The counter page (merchant app, /counter): each payment to this store shown
// and said aloud as the announcer's Server-Sent Events bring it.
// Today's payments come first (not said: they are the backlog); "ready" says
// what follows is new. Each event's id is its place in the stream: a
// reconnect resumes after the last one seen (the browser's Last-Event-ID on its
// own retries, ?last_event_id= when we reconnect with a fresh token), and a
// payment already shown is never shown or said again (by its transaction id).
(function () {
  "use strict";
  var root = document.getElementById("counter");
  if (!root || !root.dataset.streamUrl) { return; }

  var streamUrl = root.dataset.streamUrl;
  var tokenUrl = root.dataset.tokenUrl;
  var token = root.dataset.token;
  var day = root.dataset.day;
  var lastId = "";
  var live = false;
  var soundOn = false;
  var source = null;
  var renewing = false;
  var seen = {};
  var count = 0;
  var total = 0;
  var lang = "en";
  try { lang = window.localStorage.getItem("counter-lang") === "hi" ? "hi" : "en"; } catch (e) { /* private mode */ }

  function $(id) { return document.getElementById(id); }

  // Money is whole paise: grouped the Indian way (₹1,23,456.78), no floats.
  function rupees(paise) {
    var whole = String(Math.floor(paise / 100));
    var cents = String(paise % 100);
    if (cents.length < 2) { cents = "0" + cents; }
    var last3 = whole.slice(-3);
    var rest = whole.slice(0, -3);
    if (rest) { last3 = "," + last3; }
    rest = rest.replace(/\B(?=(\d{2})+(?!\d))/g, ",");
    return "₹" + rest + last3 + "." + cents;
  }

  function setStatus(text) { $("counter-status").textContent = text; }

  function showTotals() {
    $("today-count").textContent = String(count);
    $("today-total").textContent = rupees(total);
  }

  function say(text) {
    if (!soundOn || !("speechSynthesis" in window)) { return; }
    var utterance = new window.SpeechSynthesisUtterance(text);
    utterance.lang = lang === "hi" ? "hi-IN" : "en-IN";
    window.speechSynthesis.speak(utterance);
  }

  function onPayment(event) {
    lastId = event.lastEventId || lastId;
    var p = JSON.parse(event.data);
    if (seen[p.transaction_id]) { return; }
    seen[p.transaction_id] = true;
    if (p.day > day) {  // a new day (the page left open overnight): start afresh
      day = p.day; count = 0; total = 0; $("today").textContent = "";
    }
    if (p.day === day) { count += 1; total += p.amount_paise; }
    showTotals();
    $("latest-amount").textContent = p.amount;
    $("latest-time").textContent = p.time;
    var item = document.createElement("li");
    item.id = "payment-" + p.transaction_id;
    var when = document.createElement("span");
    when.className = "when";
    when.textContent = p.time;
    var amount = document.createElement("span");
    amount.className = "amount";
    amount.textContent = p.amount;
    item.appendChild(when);
    item.appendChild(amount);
    $("today").insertBefore(item, $("today").firstChild);
    if (live) { say(p.say[lang]); }
  }

  function connect() {
    var url = streamUrl + "?token=" + encodeURIComponent(token) +
      (lastId ? "&last_event_id=" + encodeURIComponent(lastId) : "");
    source = new window.EventSource(url);
    source.addEventListener("payment", onPayment);
    source.addEventListener("ready", function (event) {
      lastId = event.lastEventId || lastId;
      live = true;
      setStatus("Live: payments are shown as they come.");
    });
    source.addEventListener("expired", renew);
    source.onerror = function () {
      // CONNECTING: the browser retries by itself (with Last-Event-ID).
      // CLOSED: refused (a token out of date): a new token, then resume.
      if (source.readyState === window.EventSource.CLOSED) { renew(); } else { setStatus("Reconnecting…"); }
    };
  }

  function renew() {
    if (renewing) { return; }
    renewing = true;
    if (source) { source.close(); }
    setStatus("Reconnecting…");
    window.fetch(tokenUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (body) { token = body.token; renewing = false; connect(); })
      .catch(function () {
        renewing = false;
        setStatus("Offline: trying again… (signed out? reload the page)");
        window.setTimeout(renew, 5000);
      });
  }

  function setLanguage(chosen) {
    lang = chosen;
    try { window.localStorage.setItem("counter-lang", lang); } catch (e) { /* private mode */ }
    $("lang-en").setAttribute("aria-pressed", String(lang === "en"));
    $("lang-hi").setAttribute("aria-pressed", String(lang === "hi"));
  }

  $("sound").addEventListener("click", function () {
    soundOn = true;  // browsers speak only after a tap on the page
    $("sound").textContent = "Sound on";
    $("sound").setAttribute("aria-pressed", "true");
    say(lang === "hi" ? "आवाज़ चालू" : "Sound on");
  });
  $("lang-en").addEventListener("click", function () { setLanguage("en"); });
  $("lang-hi").addEventListener("click", function () { setLanguage("hi"); });
  setLanguage(lang);
  showTotals();
  connect();
}());
