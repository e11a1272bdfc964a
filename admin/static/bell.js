// The bell in the header: every 30 s (and when the tab comes back into view) it asks
// /admin/notifications/count and shows the unread count as a badge, hidden at 0, without
// reloading the page.
(function () {
  "use strict";
  var PERIOD = 30000;

  function show(bell, n) {
    var badge = document.getElementById("bell-count");
    if (!badge || typeof n !== "number") { return; }
    badge.textContent = String(n);
    badge.hidden = n === 0;
    var label = bell.getAttribute("title") || "";
    bell.setAttribute("aria-label", n ? label + " (" + n + ")" : label);
  }

  function refresh(bell) {
    return fetch(bell.dataset.countUrl, { credentials: "same-origin", cache: "no-store",
                                          headers: { "Accept": "application/json" } })
      .then(function (r) {
        var json = r.ok && (r.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        return json ? r.json() : null;  // logged out: the login page, not a count
      })
      .then(function (body) { if (body) { show(bell, body.unread); } })
      .catch(function () { /* offline for a moment: the next tick tries again */ });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var bell = document.getElementById("bell");
    if (!bell || !bell.dataset.countUrl) { return; }
    window.setInterval(function () { refresh(bell); }, PERIOD);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { refresh(bell); }
    });
  });
})();
