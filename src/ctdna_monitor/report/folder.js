// Page script of the folder report (report/folder.py): the alert table (data/alerts.js: sorted, filtered,
// paged), the patient index (data/patients.js: searchable by patient ID, sorted, paged), the checksum table (data/checksums.js, when
// opened). Every value goes into the page as text (textContent); links are the relative ones the data gives.
(function () {
  "use strict";
  var PAGE = 200;

  function loadData(name, done) {
    var data = window.ctdnaData || {};
    if (data[name] !== undefined) { done(data[name]); return; }
    var script = document.createElement("script");
    script.src = "data/" + name + ".js";
    script.onload = function () { done((window.ctdnaData || {})[name]); };
    script.onerror = function () { done(undefined); };
    document.head.appendChild(script);
  }

  // Rows reordered by one sort key (`key(row)`), stable; numbers with missing values first, text as given.
  function sortedRows(rows, key, numeric, dir) {
    var order = rows.map(function (_, i) { return i; });
    order.sort(function (i, j) {
      var x = key(rows[i]), y = key(rows[j]);
      if (numeric) { x = x === null ? -Infinity : x; y = y === null ? -Infinity : y; }
      return x < y ? -dir : x > y ? dir : i - j;
    });
    return order.map(function (i) { return rows[i]; });
  }

  // Shared wiring of a paged, sortable table: header clicks (and Enter) sort, prev/next turn pages.
  function wireTable(heads, sortBy, prev, next, turn) {
    Array.prototype.forEach.call(heads, function (th, col) {
      th.addEventListener("click", function () { sortBy(col); });
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") sortBy(col); });
    });
    prev.addEventListener("click", function () { turn(-1); });
    next.addEventListener("click", function () { turn(1); });
  }

  function markSorted(heads, col, dir) {
    Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
    heads[col].setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
  }

  // ------------------------------------------------------------ alert table (data/alerts.js)
  // Each row arrives as the server's markup (report/tables.py: every value already HTML-escaped there, the
  // same markup the single-file report holds), with its filter values (1-3) and sort keys (from 4).
  function alertTable(done) {
    var table = document.getElementById("alert-table");
    if (!table) { done(); return; }
    var body = table.tBodies[0];
    var heads = table.tHead.rows[0].cells;
    var selects = document.querySelectorAll("#alert-filters select");
    var count = document.getElementById("alert-count");
    var prev = document.getElementById("alert-prev"), next = document.getElementById("alert-next");
    var rows = [], matches = [], page = 0, sortCol = -1, sortDir = 1;

    function render() {
      var start = page * PAGE, end = Math.min(matches.length, start + PAGE), parts = [];
      for (var i = start; i < end; i++) parts.push(rows[matches[i]][0]);
      var template = document.createElement("template");
      template.innerHTML = "<table><tbody>" + parts.join("") + "</tbody></table>";
      body.replaceWith(template.content.querySelector("tbody"));
      body = table.tBodies[0];
      count.textContent = (matches.length === rows.length ? rows.length : matches.length + " of " + rows.length) + " alerts";
      if (matches.length > PAGE) count.textContent += " (showing " + (start + 1) + "–" + end + ")";
      prev.disabled = page === 0;
      next.disabled = end >= matches.length;
    }

    function filter() {
      var wants = Array.prototype.map.call(selects, function (s) { return [+s.getAttribute("data-filter"), s.value]; });
      matches = [];
      for (var i = 0; i < rows.length; i++) {
        var ok = true;
        for (var w = 0; w < wants.length && ok; w++) {
          var field = wants[w][0], want = wants[w][1];
          if (!want) continue;
          ok = field === 3 ? rows[i][3].split("|").indexOf(want) >= 0 : rows[i][field] === want;
        }
        if (ok) matches.push(i);
      }
      page = 0;
      render();
    }

    function sortBy(col) {
      sortDir = col === sortCol ? -sortDir : 1;
      sortCol = col;
      markSorted(heads, col, sortDir);
      var k = 4 + col;  // (the row's sort keys follow its markup and filter values)
      rows = sortedRows(rows, function (r) { return r[k]; }, heads[col].getAttribute("data-sort") === "num", sortDir);
      filter();
    }

    function turn(step) {
      if (step < 0 ? page > 0 : (page + 1) * PAGE < matches.length) { page += step; render(); }
    }

    loadData("alerts", function (data) {
      if (!data) { count.textContent = "The alert table (data/alerts.js) could not be loaded."; done(); return; }
      rows = data.rows;
      Array.prototype.forEach.call(selects, function (s) { s.addEventListener("change", filter); });
      wireTable(heads, sortBy, prev, next, turn);
      filter();
      done();
    });
  }

  // ------------------------------------------------------------ patient index (data/patients.js)
  function patientIndex(done) {
    var table = document.getElementById("patient-table");
    if (!table) { done(); return; }
    var input = document.getElementById("patient-filter");
    var count = document.getElementById("patient-count");
    var prev = document.getElementById("patient-prev"), next = document.getElementById("patient-next");
    var heads = table.tHead.rows[0].cells;
    var body = table.tBodies[0];
    var rows = [], lower = [], matches = [], page = 0, sortCol = 0, sortDir = 1;
    var numeric = { 2: 1, 3: 1, 4: 1, 5: 1, 7: 1, 9: 1 };

    function cell(tr, value, num) {
      var td = document.createElement("td");
      if (num) td.className = "num";
      td.textContent = value === null || value === undefined ? "" : String(value);
      tr.appendChild(td);
    }

    function render() {
      var start = page * PAGE, end = Math.min(matches.length, start + PAGE);
      var fragment = document.createDocumentFragment();
      for (var i = start; i < end; i++) {
        var r = rows[matches[i]];
        var tr = document.createElement("tr");
        tr.setAttribute("data-patient", r[0]);
        var td = document.createElement("td");
        var a = document.createElement("a");
        a.setAttribute("href", r[10]);
        a.textContent = r[0];
        td.appendChild(a);
        tr.appendChild(td);
        cell(tr, r[1]); cell(tr, r[2], 1); cell(tr, r[3], 1); cell(tr, r[4], 1); cell(tr, r[5], 1); cell(tr, r[6]);
        cell(tr, r[7], 1); cell(tr, r[8]);
        cell(tr, r[9] === null || r[9] === undefined ? "" : (r[9] > 0 ? "+" : "") + r[9] + "%", 1);
        fragment.appendChild(tr);
      }
      body.textContent = "";
      body.appendChild(fragment);
      count.textContent = matches.length === rows.length
        ? rows.length + " patients" : matches.length + " of " + rows.length + " patients";
      if (matches.length > PAGE) count.textContent += " (showing " + (matches.length ? start + 1 : 0) + "–" + end + ")";
      prev.disabled = page === 0;
      next.disabled = end >= matches.length;
    }

    function search() {
      var q = input.value.trim().toLowerCase();
      matches = [];
      var exact = -1;
      for (var i = 0; i < rows.length; i++) {
        if (!q || lower[i].indexOf(q) >= 0) {
          if (lower[i] === q) exact = matches.length;
          matches.push(i);
        }
      }
      if (exact > 0) matches.unshift(matches.splice(exact, 1)[0]);  // the patient named exactly comes first
      page = 0;
      render();
    }

    function sortBy(col) {
      sortDir = col === sortCol ? -sortDir : 1;
      sortCol = col;
      markSorted(heads, col, sortDir);
      var key = numeric[col]
        ? function (r) { return r[col]; }
        : function (r) { return String(r[col] || "").toLowerCase(); };
      rows = sortedRows(rows, key, numeric[col], sortDir);
      lower = rows.map(function (r) { return String(r[0]).toLowerCase(); });
      search();
    }

    function turn(step) {
      if (step < 0 ? page > 0 : (page + 1) * PAGE < matches.length) { page += step; render(); }
    }

    loadData("patients", function (data) {
      if (!data) { count.textContent = "The patient index (data/patients.js) could not be loaded."; done(); return; }
      rows = data.rows;
      lower = rows.map(function (r) { return String(r[0]).toLowerCase(); });
      var timer = null;
      input.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(search, rows.length > 2000 ? 80 : 0);
      });
      input.addEventListener("keydown", function (e) {
        if (e.key === "Enter") { clearTimeout(timer); search(); }
      });
      wireTable(heads, sortBy, prev, next, turn);
      search();
      done();
    });
  }

  // ------------------------------------------------------------ checksums (data/checksums.js, when opened)
  function checksums() {
    var details = document.getElementById("checksums");
    var box = document.getElementById("checksum-box");
    if (!details || !box) return;
    details.addEventListener("toggle", function () {
      if (!details.open || box.firstChild) return;
      loadData("checksums", function (rows) {
        var table = document.createElement("table");
        var head = table.createTHead().insertRow();
        ["Role", "Path", "Bytes", "SHA-256"].forEach(function (h) {
          var th = document.createElement("th"); th.textContent = h; head.appendChild(th);
        });
        var tbody = table.createTBody();
        (rows || []).forEach(function (r) {
          var tr = tbody.insertRow();
          r.forEach(function (v) { tr.insertCell().textContent = v === null ? "" : String(v); });
        });
        box.appendChild(table);
      });
    });
  }

  // ready (window.ctdnaReady, for tests and the benchmark) once both tables are drawn and respond
  var waiting = 2;
  function drawn() {
    waiting -= 1;
    if (waiting === 0) { window.ctdnaReadyAt = performance.now(); window.ctdnaReady = true; }
  }
  alertTable(drawn);
  patientIndex(drawn);
  checksums();
})();
