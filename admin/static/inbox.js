// The inbox refreshes itself: every 30 s it asks /admin/inbox/stamp (the tabs' counts and the
// latest step to arrive; the page is drawn with the counts only, the latest comes with the first
// poll) and reloads the list when that changed, unless the officer has ticked
// steps or is typing in a field. Also: "select all" and the count of ticked steps for bulk actions.
(function () {
  "use strict";
  var PERIOD = 30000;  // the page may say otherwise (data-refresh-ms, INBOX_REFRESH_SECONDS)

  function picks() { return Array.prototype.slice.call(document.querySelectorAll("input.pick")); }

  function busy() {
    if (picks().some(function (c) { return c.checked; })) { return true; }
    var el = document.activeElement;
    if (!el) { return false; }
    return (el.tagName === "INPUT" && el.type !== "checkbox") || el.tagName === "TEXTAREA" || el.tagName === "SELECT";
  }

  // `a` is what the page was drawn with: its counts, and the latest arrival once a poll told it
  function same(a, b) {
    if (!a || !b || (a.latest !== undefined && a.latest !== b.latest)) { return false; }
    return ["available", "mine", "unit"].every(function (k) { return (a.counts || {})[k] === (b.counts || {})[k]; });
  }

  function showCounts(stamp) {
    Object.keys(stamp.counts || {}).forEach(function (k) {
      var el = document.querySelector("[data-tab-count='" + k + "']");
      if (el) { el.textContent = "(" + stamp.counts[k] + ")"; }
    });
  }

  function poll(box, current) {
    window.setTimeout(function () {
      fetch(box.dataset.stampUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (stamp) {
          if (stamp && !same(current, stamp)) {
            showCounts(stamp);
            if (!busy()) { window.location.reload(); return; }
          } else if (stamp) {
            current = stamp;  // unchanged: now with the latest arrival too
          }
          poll(box, current);  // changed while busy: the page's own stamp is kept, it reloads once free
        })
        .catch(function () { poll(box, current); });
    }, PERIOD);
  }

  function countTicked() {
    var out = document.getElementById("selected-count");
    var n = picks().filter(function (c) { return c.checked; }).length;
    if (out) { out.textContent = n ? n + " ✓" : ""; }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var all = document.getElementById("select-all");
    if (all) {
      all.addEventListener("change", function () {
        picks().forEach(function (c) { c.checked = all.checked; });
        countTicked();
      });
    }
    picks().forEach(function (c) { c.addEventListener("change", countTicked); });
    var box = document.getElementById("inbox");
    if (box && box.dataset.stampUrl) {
      var current = null;
      try { current = { counts: JSON.parse(box.dataset.counts) }; } catch (e) { current = null; }
      PERIOD = parseInt(box.dataset.refreshMs, 10) || PERIOD;
      poll(box, current);
    }
  });
}());
