// Audit report: open every collapsed table before printing, so the paper copy is whole.
(function () {
  "use strict";
  window.addEventListener("beforeprint", function () {
    var sections = document.querySelectorAll("details");
    for (var i = 0; i < sections.length; i += 1) { sections[i].open = true; }
  });
}());
