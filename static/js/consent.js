// The consent page: a visible "unsaved changes" state in the sticky save bar, and a
// warning before leaving the page with ticks that were not saved.
(function () {
  "use strict";
  var form = document.getElementById("consent-form");
  if (!form) return;
  var state = document.getElementById("consent-savestate");
  var boxes = Array.prototype.slice.call(form.querySelectorAll('input[type="checkbox"]'));
  var initial = boxes.map(function (box) { return box.checked; });
  var submitting = false;

  function dirty() {
    return boxes.some(function (box, i) { return box.checked !== initial[i]; });
  }

  function show() {
    var unsaved = dirty();
    form.classList.toggle("is-dirty", unsaved);
    if (state) state.textContent = unsaved ? form.dataset.unsaved : form.dataset.saved;
  }

  boxes.forEach(function (box) { box.addEventListener("change", show); });
  form.addEventListener("submit", function () { submitting = true; });
  window.addEventListener("beforeunload", function (event) {
    if (submitting || !dirty()) return;
    event.preventDefault();
    // Older browsers show the dialog only when a value is returned.
    event.returnValue = "";
  });
})();
