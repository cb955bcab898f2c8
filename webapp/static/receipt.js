// The receipt's copy button (webapp/templates/receipt_macros.jinja2): shown only
// where scripts run; without it the code can still be selected and copied.
document.querySelectorAll("[data-copy]").forEach(function (button) {
  var target = document.getElementById(button.dataset.copy);
  if (!target) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(target.value).then(done);
    } else {
      target.select();
      document.execCommand("copy");
      done();
    }
  });
});
