// Secrets shown once (API keys, webhook signing secrets): a copy button, and a "show"
// button for a secret that stays hidden until asked for.
(function () {
  "use strict";
  function announce(button, text) {
    var state = button.parentNode.querySelector(".copy-state");
    if (state) state.textContent = text;
  }
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.getElementById(button.dataset.copyTarget);
      if (!field) return;
      var done = function () { announce(button, button.dataset.copied); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () {
          field.select();
        });
        return;
      }
      // Plain http (the embedded default): select the text and use the old command.
      var type = field.type;
      field.type = "text";
      field.select();
      try { if (document.execCommand("copy")) done(); } catch (e) { /* selected anyway */ }
      field.type = type;
    });
  });
  document.querySelectorAll("[data-reveal-target]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.getElementById(button.dataset.revealTarget);
      if (!field) return;
      var show = field.type === "password";
      field.type = show ? "text" : "password";
      button.textContent = show ? button.dataset.hide : button.dataset.show;
      button.setAttribute("aria-pressed", show ? "true" : "false");
    });
  });
})();
