// Passkeys (webapp/views/passkeys.py): a form marked data-passkey="create" (add one,
// /me/passkeys) or "get" (sign in, /login) asks the server for the ceremony's options
// (POST to data-options, the form's CSRF token in X-CSRF-Token), has the browser's
// authenticator answer them, puts the answer in the form's "credential" field as
// JSON (binary values base64url, as py_webauthn reads them) and posts the form.
// Shown only where the browser can do it; without scripts the page works as before.
(function () {
  "use strict";

  // base64url <-> bytes: no padding, "-" and "_" for "+" and "/" (RFC 4648 §5).
  function toBytes(text) {
    var base64 = String(text).replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes;
  }

  function toText(buffer) {
    if (!buffer) { return null; }
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map(function (c) {
      return { type: c.type, id: toBytes(c.id), transports: c.transports };
    });
  }

  function creationOptions(json) {
    var o = Object.assign({}, json);
    o.challenge = toBytes(json.challenge);
    o.user = Object.assign({}, json.user, { id: toBytes(json.user.id) });
    o.excludeCredentials = withIds(json.excludeCredentials);
    return o;
  }

  function requestOptions(json) {
    var o = Object.assign({}, json);
    o.challenge = toBytes(json.challenge);
    o.allowCredentials = withIds(json.allowCredentials);
    return o;
  }

  function answer(credential) {
    var r = credential.response;
    var out = {
      id: credential.id, rawId: toText(credential.rawId), type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults ?
        credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toText(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toText(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = toText(r.authenticatorData);
      out.response.signature = toText(r.signature);
      out.response.userHandle = toText(r.userHandle);
    }
    return JSON.stringify(out);
  }

  function wire(form) {
    var mode = form.dataset.passkey;
    var status = form.querySelector("[data-passkey-status]");
    var button = form.querySelector("button[type=submit]");
    var say = function (text, bad) {
      if (!status) { return; }
      status.textContent = text;
      status.classList.toggle("bad", !!bad);
    };
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      button.disabled = true;
      say(mode === "create" ? "Follow your device's prompt to make the passkey…" :
        "Follow your device's prompt to use your passkey…");
      fetch(form.dataset.options, {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRF-Token": form.elements.csrf_token.value, "Accept": "application/json" }
      }).then(function (reply) {
        return reply.json().then(function (json) {
          if (!reply.ok) { throw new Error(json.error || "The server refused. Reload the page."); }
          return json;
        });
      }).then(function (json) {
        return mode === "create" ?
          navigator.credentials.create({ publicKey: creationOptions(json) }) :
          navigator.credentials.get({ publicKey: requestOptions(json) });
      }).then(function (credential) {
        if (!credential) { throw new Error("No passkey was chosen."); }
        form.elements.credential.value = answer(credential);
        form.submit();
      }).catch(function (error) {
        button.disabled = false;
        var cancelled = error && (error.name === "NotAllowedError" || error.name === "AbortError");
        say(cancelled ? "Cancelled, or no passkey for this site on this device." :
          (error && error.name === "InvalidStateError") ?
            "This device already has a passkey for your wallet." :
            (error && error.message) || "That did not work. Try again.", true);
      });
    });
  }

  if (!window.PublicKeyCredential || !navigator.credentials || !window.fetch) { return; }
  document.querySelectorAll("[data-passkey-unsupported]").forEach(function (note) {
    note.hidden = true;
  });
  document.querySelectorAll("form[data-passkey]").forEach(wire);
}());
