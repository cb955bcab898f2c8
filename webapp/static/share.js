// A success screen's "Share receipt" (receipt_macros.jinja2 share_receipt): the
// browser's share sheet where it has one (navigator.share), else a button that
// copies the receipt's link (the public check page with the signed code in it).
document.querySelectorAll("[data-share-url]").forEach(function (box) {
  var data = { title: box.dataset.shareTitle, text: box.dataset.shareText,
               url: box.dataset.shareUrl };
  var share = box.querySelector("#share-receipt");
  var copy = box.querySelector("#copy-receipt-link");
  if (navigator.share && (!navigator.canShare || navigator.canShare(data))) {
    share.hidden = false;
    share.addEventListener("click", function () {
      navigator.share(data).catch(function () { /* closed by the person: nothing to do */ });
    });
    return;
  }
  copy.hidden = false;
  copy.addEventListener("click", function () {
    var done = function () { copy.textContent = "Link copied"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(data.url).then(done, function () { fallback(data.url, done); });
    } else {
      fallback(data.url, done);
    }
  });
});

function fallback(text, done) {  // (older browsers, plain http): a selected, hidden field
  var field = document.createElement("textarea");
  field.value = text;
  field.setAttribute("readonly", "");
  field.style.position = "fixed";
  field.style.opacity = "0";
  document.body.appendChild(field);
  field.select();
  document.execCommand("copy");
  document.body.removeChild(field);
  done();
}
