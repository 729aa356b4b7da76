// Uploads: drag and drop onto the form, send through the JSON API, and show
// live progress by polling the upload until it is done. Without JavaScript the
// form posts normally and the detail page shows the result.
(function () {
  "use strict";
  var OPEN = { pending: true, running: true };

  function csrf(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function poll(url, onUpdate) {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (u) {
        onUpdate(u);
        if (OPEN[u.status]) { setTimeout(function () { poll(url, onUpdate); }, 700); }
      });
  }

  function percent(u) {
    return u.rows_total ? Math.min(100, Math.round((100 * u.rows_done) / u.rows_total)) : 0;
  }

  var form = document.getElementById("upload-form");
  if (form && window.fetch && window.FormData) {
    var zone = document.getElementById("dropzone");
    var input = form.querySelector("input[type=file]");
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      if (e.dataTransfer && e.dataTransfer.files.length) { input.files = e.dataTransfer.files; }
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var data = new FormData(form);
      var box = document.getElementById("upload-progress");
      var bar = box.querySelector("progress");
      var text = box.querySelector(".progress-text");
      var result = box.querySelector(".progress-result");
      box.hidden = false;
      text.textContent = "…";
      data.set("date", data.get("traffic_date") || "");
      if (!data.get("date")) { data.delete("date"); }
      fetch(form.dataset.api, {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "X-CSRFToken": csrf(form), Accept: "application/json" },
      })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (res) {
          if (!res.ok) { text.textContent = JSON.stringify(res.body); return; }
          poll(res.body.url, function (u) {
            bar.value = percent(u);
            text.textContent = u.rows_done + " / " + u.rows_total + " — " + u.status;
            if (!OPEN[u.status]) {
              var link = document.createElement("a");
              link.href = window.location.pathname + u.id + "/";
              var counts = u.kind === "traffic"
                ? u.traffic_created + " days and channels added, " + u.traffic_updated + " replaced"
                : u.orders_created + " new orders, " + u.orders_updated + " updated";
              link.textContent = u.status + ": " + u.rows_loaded + " loaded, " + u.rows_rejected +
                " rejected, " + counts + (u.error ? " — " + u.error : "");
              result.textContent = "";
              result.appendChild(link);
            }
          });
        });
    });
  }

  var status = document.getElementById("upload-status");
  if (status && OPEN[status.dataset.status] && window.fetch) {
    poll(status.dataset.api, function (u) {
      var bar = document.getElementById("progress");
      if (bar) { bar.value = percent(u); }
      var text = document.getElementById("progress-text");
      if (text) { text.textContent = u.rows_done + " / " + u.rows_total; }
      if (!OPEN[u.status]) { window.location.reload(); }
    });
  }
})();
