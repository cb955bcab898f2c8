// Scan and pay (webapp/templates/scan.jinja2, webapp/views/scan.py): the rear
// camera's frames, or a photo, are sent as JPEG to the server, which reads the
// QR code and answers which of the wallet's own pages to open (or why not).
// Only a page of this site is ever opened: never an address read from a code.
(function () {
  "use strict";
  var root = document.getElementById("scanner");
  if (!root) { return; }
  var video = document.getElementById("scan-video");
  var status = document.getElementById("scan-status");
  var picker = document.getElementById("scan-file");
  var canvas = document.createElement("canvas");
  var FRAME_SIDE = 800;   // a camera frame, scaled down: QR codes still read
  var PHOTO_SIDE = 1600;  // a photo: larger, the code may be small in it
  var EVERY_MS = 500;
  var busy = false, done = false, stream = null, timer = null;

  function say(text, bad) {
    status.textContent = text;
    status.classList.toggle("bad", !!bad);
  }

  function stopCamera() {
    if (timer) { clearInterval(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); stream = null; }
  }

  function sameSite(url) {
    try { return new URL(url, window.location.href).origin === window.location.origin; }
    catch (e) { return false; }
  }

  // Draw ``source`` (w × h) scaled to at most ``side``, as a JPEG Blob.
  function jpeg(source, w, h, side, then) {
    var scale = Math.min(1, side / Math.max(w, h));
    canvas.width = Math.max(1, Math.round(w * scale));
    canvas.height = Math.max(1, Math.round(h * scale));
    canvas.getContext("2d").drawImage(source, 0, 0, canvas.width, canvas.height);
    canvas.toBlob(then, "image/jpeg", 0.85);
  }

  function decode(blob, fromPhoto) {
    if (!blob) { busy = false; return; }
    fetch(root.dataset.decodeUrl, {
      method: "POST", credentials: "same-origin", body: blob,
      headers: {"Content-Type": "image/jpeg", "X-CSRF-Token": root.dataset.csrf}
    }).then(function (response) {
      return response.json().then(function (body) { return {ok: response.ok, body: body}; });
    }).then(function (answer) {
      busy = false;
      var body = answer.body || {};
      if (answer.ok && body.found && body.url && sameSite(body.url)) {
        done = true;
        stopCamera();
        say("Found it: opening…");
        window.location.assign(body.url);
      } else if (body.message) {
        say(body.message, true);
      } else if (fromPhoto) {
        say("No QR code found in that photo: try again, closer and in focus.", true);
      }
    }).catch(function () {
      busy = false;
      say("Could not reach the wallet: check your connection.", true);
    });
  }

  function scanFrame() {
    if (busy || done || !video.videoWidth) { return; }
    busy = true;
    jpeg(video, video.videoWidth, video.videoHeight, FRAME_SIDE, function (blob) {
      decode(blob, false);
    });
  }

  function noCamera(why) {
    say(why + " Take a photo of the QR code instead.", true);
  }

  function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      noCamera("This browser cannot open the camera here.");
      return;
    }
    navigator.mediaDevices.getUserMedia({
      audio: false, video: {facingMode: {ideal: "environment"}}
    }).then(function (opened) {
      if (done) { opened.getTracks().forEach(function (track) { track.stop(); }); return; }
      stream = opened;
      video.srcObject = opened;
      var playing = video.play();
      if (playing && playing.catch) { playing.catch(function () {}); }
      say("Looking for a QR code…");
      timer = setInterval(scanFrame, EVERY_MS);
    }).catch(function () {
      noCamera("The camera is not available (or not allowed).");
    });
  }

  function readPhoto(file) {
    say("Reading the photo…");
    busy = true;
    var send = function (image, w, h) {
      jpeg(image, w, h, PHOTO_SIDE, function (blob) { decode(blob, true); });
    };
    if (window.createImageBitmap) {
      createImageBitmap(file).then(function (bitmap) {
        send(bitmap, bitmap.width, bitmap.height);
      }).catch(function () { busy = false; say("That file is not a picture we can read.", true); });
      return;
    }
    var reader = new FileReader();  // (a data: URL: the page's policy allows those images)
    reader.onload = function () {
      var image = new Image();
      image.onload = function () { send(image, image.naturalWidth, image.naturalHeight); };
      image.onerror = function () { busy = false; say("That file is not a picture we can read.", true); };
      image.src = reader.result;
    };
    reader.readAsDataURL(file);
  }

  picker.addEventListener("change", function () {
    if (picker.files && picker.files[0]) { readPhoto(picker.files[0]); }
    picker.value = "";
  });
  window.addEventListener("pagehide", stopCamera);
  startCamera();
})();
