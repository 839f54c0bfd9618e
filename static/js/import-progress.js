// Data import: while the files are checked or imported, poll the progress (JSON) and
// update the bar; reload the page when the step has finished so its summary appears.
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box) { return; }
  var url = box.getAttribute("data-progress-url");
  var bar = box.querySelector("progress");
  var text = document.getElementById("import-progress-text");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { window.setTimeout(poll, 5000); return; }
        bar.value = data.percent;
        bar.textContent = data.percent + "%";
        text.textContent = data.text;
        if (data.done) { window.location.reload(); return; }
        window.setTimeout(poll, 700);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 500);
}());
