/* Django Automations: keep an instance page up to date without reloading it.
 *
 * The page's diagram socket (diagram.js) sends, with each diagram state, the HTML of every part of
 * the page as the server renders it for this user (data-atm-part="title", "facts", "actions",
 * "positions", "data", "errors", "history"). Each part is replaced at once, so the badge, the
 * actions offered, where it stands, the data and the history always agree with the diagram.
 */
(function () {
  "use strict";

  function update(event) {
    var message = event.detail || {};
    var page = document.querySelector("[data-atm-instance-page]");
    if (!message.page || !page) return;
    if (page.getAttribute("data-atm-instance-page") !== String(message.automation)) return;
    Object.keys(message.page).forEach(function (name) {
      var part = page.querySelector('[data-atm-part="' + name + '"]');
      if (!part) return;
      // Compared as the browser writes it (entities, quotes): a part that did not change is left
      // alone, so a click on one of its links or buttons is never lost to a replacement.
      var fresh = document.createElement("template");
      fresh.innerHTML = message.page[name];
      if (part.innerHTML !== fresh.innerHTML) part.replaceChildren(fresh.content);
    });
    page.setAttribute("data-atm-state", message.state || "");
  }

  document.addEventListener("automations:diagram", update);
})();
