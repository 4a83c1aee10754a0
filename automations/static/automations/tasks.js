/* Django Automations: keep task lists up to date without reloading the page.
 *
 * Every element with a data-atm-socket attribute (rendered by
 * automations/includes/task_list.html) is connected to the task-list websocket; each message
 * carries the list rendered for the logged-in user, and replaces the element's content.
 * The element's data-atm-live attribute says "connected" once a list arrived, "closed" after a drop.
 * The socket reconnects after a network failure, but not when the server refused the user.
 */
(function () {
  "use strict";
  if (window.automationsTaskList) {
    window.automationsTaskList.start();
    return;
  }
  var REFUSED = 4401;
  var sockets = {};

  function listsOf(path) {
    return document.querySelectorAll('[data-atm-socket="' + path + '"]');
  }

  function replaceLists(path, html) {
    var fresh = document.createElement("template");
    fresh.innerHTML = html;
    var source = fresh.content.querySelector("[data-atm-task-list]");
    if (!source) return;
    listsOf(path).forEach(function (list) {
      if (list.innerHTML !== source.innerHTML) list.innerHTML = source.innerHTML;  // unchanged: clicks not lost
      list.setAttribute("data-atm-live", "connected");
      list.dispatchEvent(new CustomEvent("automations:tasks", { bubbles: true }));
    });
  }

  function connect(path, delay) {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + path);
    sockets[path] = socket;
    socket.onopen = function () { delay = 500; };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "tasks") replaceLists(path, message.html);
    };
    socket.onclose = function (event) {
      delete sockets[path];
      listsOf(path).forEach(function (list) { list.setAttribute("data-atm-live", "closed"); });
      if (event.code === REFUSED) return;
      var wait = Math.min(delay || 500, 30000);
      window.setTimeout(function () { connect(path, wait * 2); }, wait);
    };
  }

  function start() {
    document.querySelectorAll("[data-atm-socket]").forEach(function (list) {
      var path = list.getAttribute("data-atm-socket");
      if (path && !sockets[path]) connect(path, 500);
    });
  }

  window.automationsTaskList = { start: start };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
