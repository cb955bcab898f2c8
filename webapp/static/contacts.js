// The send page's recent contacts (send.jinja2): a tap fills the phone field
// and moves on to the amount. Without scripts each is a link to /send?to=...
document.querySelectorAll("#recent-contacts [data-phone]").forEach(function (link) {
  link.addEventListener("click", function (event) {
    var phone = document.getElementById("phone");
    if (!phone) { return; }
    event.preventDefault();
    phone.value = link.dataset.phone;
    document.querySelectorAll("#recent-contacts .chosen").forEach(function (other) {
      other.classList.remove("chosen");
    });
    link.classList.add("chosen");
    var amount = document.getElementById("amount");
    if (amount) { amount.focus(); }
  });
});
