/* Django Automations: keep the console's lists (instances, dashboard, errors) up to date.
 *
 * A page with [data-atm-console-socket] connects to it; on each {"type": "changed"} (at most one a
 * second) it fetches its own address again and replaces every [data-atm-live-region] element with
 * the one of the same id in the new page. Ticked checkboxes stay ticked. The <main> element's
 * data-atm-live attribute says "connected" once the socket is open, "updated" after an update,
 * "closed" after a drop; the socket reconnects after a network failure. The box with
 * data-atm-select-all ticks or clears every row of its selection form.
 */
(function () {
  "use strict";
  var FINAL = { 4401: true, 4403: true };

  function ticked() {
    var values = {};
    document.querySelectorAll('[data-atm-live-region] input[type="checkbox"]:checked').forEach(function (box) {
      values[box.name + "=" + box.value] = true;
    });
    return values;
  }

  function refresh(root) {
    var keep = ticked();
    return fetch(window.location.href, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-atm-live-region]").forEach(function (region) {
          var next = region.id && fresh.getElementById(region.id);
          if (next && next.innerHTML !== region.innerHTML) region.innerHTML = next.innerHTML;
        });
        document.querySelectorAll('[data-atm-live-region] input[type="checkbox"]').forEach(function (box) {
          if (keep[box.name + "=" + box.value]) box.checked = true;
        });
        root.setAttribute("data-atm-live", "updated");
        root.dispatchEvent(new CustomEvent("automations:console", { bubbles: true }));
      });
  }

  function connect(root, delay) {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + root.getAttribute("data-atm-console-socket"));
    socket.onopen = function () { delay = 500; root.setAttribute("data-atm-live", "connected"); };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "changed") refresh(root);
    };
    socket.onclose = function (event) {
      root.setAttribute("data-atm-live", "closed");
      if (FINAL[event.code]) return;
      var wait = Math.min(delay || 500, 30000);
      window.setTimeout(function () { connect(root, wait * 2); }, wait);
    };
  }

  // The box in a selection's header ticks or clears every row's box of its form.
  document.addEventListener("change", function (event) {
    var all = event.target;
    if (!all.matches || !all.matches("[data-atm-select-all]") || !all.form) return;
    all.form.querySelectorAll('input[type="checkbox"][name="ids"]').forEach(function (box) {
      box.checked = all.checked;
    });
  });

  function start() {
    document.querySelectorAll("[data-atm-console-socket]").forEach(function (root) { connect(root, 500); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
