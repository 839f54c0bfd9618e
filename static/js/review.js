// Review item page: a high-risk approval is possible only once the reviewer opened the
// explanation ("Why this?"). The server refuses it without explanation_seen too.
(function () {
  "use strict";
  var details = document.getElementById("explanation");
  var seen = document.getElementById("explanation-seen");
  var approve = document.getElementById("approve-button");
  if (!details || !seen) {
    return;
  }
  function opened() {
    if (!details.open) {
      return;
    }
    seen.value = "on";
    if (approve && approve.hasAttribute("data-needs-explanation")) {
      approve.disabled = false;
    }
  }
  details.addEventListener("toggle", opened);
  opened();
})();
