// Review item page.
// - A high-risk approval is possible only once the reviewer opened the explanation
//   ("Why this?"); the server refuses it without explanation_seen too.
// - The reason list shows only the reasons that fit the chosen decision (the server
//   refuses a reason that does not fit), and the replacement picker only for "Replace".
(function () {
  "use strict";
  var form = document.querySelector(".decision-form");
  var details = document.getElementById("explanation");
  var seen = document.getElementById("explanation-seen");
  var approve = form ? form.querySelector("input[data-needs-explanation]") : null;

  function opened() {
    if (!details || !details.open || !seen) {
      return;
    }
    seen.value = "on";
    if (approve) {
      approve.disabled = false;
    }
  }
  if (details && seen) {
    details.addEventListener("toggle", opened);
    opened();
  }
  if (!form) {
    return;
  }
  var reason = form.querySelector("select[name=reason_code]");
  var replacement = form.querySelector(".replacement-field");
  var groups = reason ? Array.prototype.slice.call(reason.querySelectorAll("optgroup")) : [];
  var decisions = Array.prototype.slice.call(form.querySelectorAll("input[name=decision]"));

  function chosen() {
    for (var i = 0; i < decisions.length; i += 1) {
      if (decisions[i].checked) {
        return decisions[i];
      }
    }
    return null;
  }
  function update() {
    var decision = chosen();
    // The groups are in the order of the decisions (forms.reason_choices).
    var index = decision ? decisions.indexOf(decision) : -1;
    groups.forEach(function (group, i) {
      var fits = index === -1 || i === index;
      group.hidden = !fits;
      group.disabled = !fits;
    });
    if (reason && reason.selectedOptions.length) {
      var option = reason.selectedOptions[0];
      if (option.parentNode && option.parentNode.disabled) {
        reason.value = "";
      }
    }
    if (replacement) {
      replacement.hidden = !(decision && decision.value === "replace");
    }
  }
  decisions.forEach(function (input) {
    input.addEventListener("change", update);
  });
  update();
})();
