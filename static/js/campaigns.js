// Campaign progress: poll the page's JSON endpoint and move the bar; reload the page
// (server-rendered results) once the campaign has finished. Without JS the "Refresh"
// link does the same.
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box) { return; }
  var url = box.getAttribute("data-progress-url");
  var bar = document.getElementById("campaign-progress-bar");
  var text = document.getElementById("campaign-progress-text");
  var delay = 1500;

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        bar.value = data.percent;
        bar.textContent = data.percent + "%";
        text.textContent = data.text;
        if (data.finished) {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        // A hiccup (e.g. the server restarting): try again a little later.
        window.setTimeout(poll, delay * 4);
      });
  }
  window.setTimeout(poll, delay);
})();
