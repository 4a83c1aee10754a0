/* Django Automations: keep instance flow diagrams up to date without reloading the page.
 *
 * Every element with a data-atm-diagram-socket attribute (rendered by
 * automations/includes/diagram.html) connects to the instance's diagram websocket. Each message
 * says which nodes the instance ran, skipped and visited how often, where it stands now and which
 * edges it took; the classes atm-visited, atm-skipped, atm-current, atm-failed, atm-revisited
 * (nodes, with their visit badges) and atm-taken (edges) of the SVG inside are set accordingly,
 * and the caption shows the status sentence. The element's data-atm-live
 * attribute says "connected" once a state arrived, "closed" after a drop. The socket reconnects
 * after a network failure, not when the server refused it or the instance is gone.
 */
(function () {
  "use strict";
  var FINAL = { 4401: true, 4403: true, 4404: true };

  function names(list) {
    var set = {};
    (list || []).forEach(function (name) { set[name] = true; });
    return set;
  }

  function markVisits(svg, node, count) {
    var badge = node.querySelector(".atm-visits");
    node.classList.toggle("atm-revisited", count > 1);
    if (!badge || String(count) === badge.getAttribute("data-visits")) return;
    var width = 14 + 8 * String(count).length;  // as svg.visits_width()
    var right = parseFloat(badge.getAttribute("data-right"));
    var rect = badge.querySelector("rect"), text = badge.querySelector("text");
    var title = badge.querySelector("title"), template = svg && svg.getAttribute("data-visits-title");
    badge.setAttribute("data-visits", String(count));
    rect.setAttribute("x", String(right - width));
    rect.setAttribute("width", String(width));
    text.setAttribute("x", String(right - width / 2));
    text.textContent = "\u00d7" + count;
    if (title && template) title.textContent = template.replace("%(count)s", count);
  }

  function mark(figure, message) {
    var current = names(message.current), visited = names(message.visited);
    var skipped = names(message.skipped), failed = names(message.failed), taken = {};
    var cancelled = names(message.cancelled);
    var visits = message.visits || {};
    var svg = figure.querySelector("svg[data-visits-title]");
    message.taken.forEach(function (edge) { taken[edge.join(" ")] = true; });
    figure.querySelectorAll(".atm-node[data-node]").forEach(function (node) {
      var name = node.getAttribute("data-node");
      node.classList.toggle("atm-current", !!current[name]);
      node.classList.toggle("atm-visited", !!visited[name]);
      node.classList.toggle("atm-skipped", !!skipped[name]);
      node.classList.toggle("atm-failed", !!failed[name]);
      node.classList.toggle("atm-cancelled", !!cancelled[name]);
      markVisits(svg, node, visits[name] || 0);
    });
    figure.querySelectorAll(".atm-edge[data-source]").forEach(function (edge) {
      var key = [edge.getAttribute("data-source"), edge.getAttribute("data-target"),
                 edge.getAttribute("data-kind")].join(" ");
      edge.classList.toggle("atm-taken", !!taken[key]);
    });
    var status = figure.querySelector("[data-atm-diagram-status]");
    if (status) status.textContent = message.status;
    figure.setAttribute("data-atm-current", message.current.concat(message.failed).join(" "));
    figure.setAttribute("data-atm-live", "connected");
    figure.dispatchEvent(new CustomEvent("automations:diagram", { bubbles: true, detail: message }));
  }

  function connect(figure, delay) {
    var path = figure.getAttribute("data-atm-diagram-socket");
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + path);
    figure.atmSocket = socket;
    socket.onopen = function () { delay = 500; };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "diagram") mark(figure, message);
      if (message.type === "gone") {
        var status = figure.querySelector("[data-atm-diagram-status]");
        if (status) status.textContent = figure.getAttribute("data-atm-gone") || "";
      }
    };
    socket.onclose = function (event) {
      figure.atmSocket = null;
      figure.setAttribute("data-atm-live", "closed");
      if (FINAL[event.code]) return;
      var wait = Math.min(delay || 500, 30000);
      window.setTimeout(function () { connect(figure, wait * 2); }, wait);
    };
  }

  function start() {
    document.querySelectorAll("[data-atm-diagram-socket]").forEach(function (figure) {
      if (!figure.atmSocket) connect(figure, 500);
    });
  }

  window.automationsDiagram = { start: start };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
