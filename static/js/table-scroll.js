// Tables wider than their box (on a phone, most of them): the box becomes a labelled,
// focusable region (arrow keys scroll it) and a hint under it says there is more to the
// side. Without this script the shadows at the cut edge (site.css) still show it.
(function () {
  "use strict";
  var script = document.currentScript;
  var hintText = script ? script.dataset.hint : "";
  var labelText = script ? script.dataset.label : "";
  function update(box) {
    var wide = box.scrollWidth > box.clientWidth + 1;
    var hint = box.nextElementSibling;
    if (!hint || !hint.classList.contains("table-hint")) {
      hint = document.createElement("p");
      hint.className = "table-hint";
      hint.textContent = hintText;
      box.insertAdjacentElement("afterend", hint);
    }
    hint.classList.toggle("is-shown", wide);
    box.classList.toggle("is-scrollable", wide);
    if (wide) {
      var caption = box.querySelector("caption");
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "region");
      box.setAttribute(
        "aria-label",
        (caption && caption.textContent.trim() ? caption.textContent.trim() + ": " : "") + labelText
      );
    } else {
      box.removeAttribute("tabindex");
      box.removeAttribute("role");
      box.removeAttribute("aria-label");
    }
  }
  var boxes = document.querySelectorAll(".table-wrap");
  boxes.forEach(update);
  if (window.ResizeObserver) {
    var observer = new ResizeObserver(function (entries) {
      entries.forEach(function (entry) { update(entry.target); });
    });
    boxes.forEach(function (box) { observer.observe(box); });
  }
}());
