"use strict";
(function () {
  var table = document.getElementById("instances");
  if (!table) { return; }
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var filter = document.getElementById("filter");
  var stateFilter = document.getElementById("state-filter");
  var severityFilter = document.getElementById("severity-filter");
  var clear = document.getElementById("clear-filter");
  var shown = document.getElementById("shown");
  var picked = null;  // the instance ids of a timeline mark, or null
  var haystack = rows.map(function (r) { return r.textContent.toLowerCase(); });

  function key(row, col, numeric) {
    var cell = row.cells[col];
    var v = cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent;
    return numeric ? parseFloat(v) : v.toLowerCase();
  }

  function sortBy(col) {
    var th = headers[col];
    var numeric = th.getAttribute("data-type") === "num";
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    headers.forEach(function (h) { h.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    var keyed = rows.map(function (r, i) { return [key(r, col, numeric), i, r]; });
    keyed.sort(function (a, b) {
      if (a[0] < b[0]) { return -dir; }
      if (a[0] > b[0]) { return dir; }
      return a[1] - b[1];
    });
    var frag = document.createDocumentFragment();
    keyed.forEach(function (k) { frag.appendChild(k[2]); });
    tbody.appendChild(frag);
  }

  var printed = document.getElementById("print-filter");

  // What the printed page says of its table: the controls are not printed, the filter must be.
  function describe(words, st, sev, n) {
    var parts = [];
    if (picked) { parts.push("a timeline mark (" + picked.length + ")"); }
    if (words.length) { parts.push("text \"" + filter.value.trim().split(/\s+/).join(" ") + "\""); }
    if (st) { parts.push("state=" + st); }
    if (sev) { parts.push("severity=" + sev); }
    if (!parts.length) { return "all " + rows.length + " instances, no filter"; }
    return "filtered: " + parts.join(", ") + "; " + n + " of " + rows.length +
      " instances (the summary and timeline count them all)";
  }

  function apply() {
    var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    var st = stateFilter.value, sev = severityFilter.value, n = 0;
    rows.forEach(function (r, i) {
      var ok = (!picked || picked.indexOf(r.getAttribute("data-id")) >= 0) &&
        words.every(function (w) { return haystack[i].indexOf(w) >= 0; }) &&
        (!st || r.getAttribute("data-state") === st) &&
        (!sev || r.getAttribute("data-severity") === sev);
      r.hidden = !ok;
      if (ok) { n += 1; }
    });
    shown.textContent = n + " of " + rows.length + " instances shown" + (picked ? " (from the timeline)" : "");
    if (printed) { printed.textContent = describe(words, st, sev, n); }
  }

  function typed() { picked = null; apply(); }

  headers.forEach(function (th, col) {
    th.addEventListener("click", function () { sortBy(col); });
    th.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); sortBy(col); }
    });
  });
  filter.addEventListener("input", typed);
  stateFilter.addEventListener("change", typed);
  severityFilter.addEventListener("change", typed);
  clear.addEventListener("click", function () {
    picked = null; filter.value = ""; stateFilter.value = ""; severityFilter.value = ""; apply();
  });
  var lanesBy = document.getElementById("lanes-by");
  if (lanesBy) {
    lanesBy.addEventListener("change", function () {
      Array.prototype.forEach.call(document.querySelectorAll("svg.timeline-svg"), function (svg) {
        if (svg.id === lanesBy.value) { svg.removeAttribute("hidden"); } else { svg.setAttribute("hidden", ""); }
      });
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("svg.timeline-svg [data-ids]"), function (m) {
    function pick() {
      picked = m.getAttribute("data-ids").split(" ");
      filter.value = ""; stateFilter.value = ""; severityFilter.value = "";
      apply();
      document.getElementById("table").scrollIntoView();
    }
    m.addEventListener("click", pick);
    m.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); pick(); }
    });
  });
  shown.textContent = rows.length + " of " + rows.length + " instances shown";
  document.body.setAttribute("data-ready", "1");
  if (window.performance && performance.mark) { performance.mark("rdsca-table-ready"); }
})();
