// st-spectrum: progressive enhancement only; every page works without it.
// Live send status: an element with data-send-status polls its URL until the send is done,
// then swaps in the outcome the server rendered.
(function () {
  "use strict";
  function poll(box) {
    var url = box.getAttribute("data-send-status");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (state) {
        box.outerHTML = state.html;
        if (!state.done) {
          var next = document.querySelector("[data-send-status]");
          if (next) { setTimeout(function () { poll(next); }, 400); }
        } else if (state.reload_history) {
          var history = document.getElementById("job-history");
          if (history) {
            fetch(location.pathname + "/history", { credentials: "same-origin" })
              .then(function (r) { return r.text(); })
              .then(function (html) { history.outerHTML = html; });
          }
        }
      })
      .catch(function () { setTimeout(function () { poll(box); }, 2000); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[data-send-status]");
    if (box) { setTimeout(function () { poll(box); }, 300); }
    // Confirm dangerous buttons (data-confirm="...").
    document.querySelectorAll("[data-confirm]").forEach(function (el) {
      el.addEventListener("click", function (event) {
        if (!window.confirm(el.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  });
})();
