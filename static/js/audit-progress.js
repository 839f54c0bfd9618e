// Audit report: while an audit runs, poll its progress (JSON) and update the bar;
// reload the page when it has finished so the report appears.
(function () {
  "use strict";
  var box = document.getElementById("audit-progress");
  if (!box) { return; }
  var url = box.getAttribute("data-progress-url");
  var bar = box.querySelector("progress");
  var step = box.querySelector("[data-role=step]");
  var percent = box.querySelector("[data-role=percent]");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { window.setTimeout(poll, 5000); return; }
        bar.value = data.percent;
        bar.textContent = data.percent + "%";
        percent.textContent = data.percent;
        step.textContent = data.step_label;
        if (data.done) { window.location.reload(); return; }
        window.setTimeout(poll, 1500);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
}());
