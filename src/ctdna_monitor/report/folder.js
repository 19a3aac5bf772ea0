// Page script of the folder report (report/folder.py): alert table sorting and filters, the patient index
// (loaded from data/patients.js, searchable by patient ID, paged), the checksum table (data/checksums.js, when
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

  function cellKey(row, index, kind) {
    var cell = row.cells[index];
    if (!cell) return kind === "num" ? -Infinity : "";
    if (kind === "num") {
      var v = cell.getAttribute("data-v");
      return v === null || v === "" ? -Infinity : parseFloat(v);
    }
    return cell.textContent.toLowerCase();
  }

  // ------------------------------------------------------------ alert table (server-rendered)
  function alertTable() {
    var table = document.getElementById("alert-table");
    if (!table) return;
    var body = table.tBodies[0];
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, index) {
      function sort() {
        var kind = th.getAttribute("data-sort");
        var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellKey(a, index, kind), y = cellKey(b, index, kind);
          return x < y ? -dir : x > y ? dir : 0;
        });
        var fragment = document.createDocumentFragment();
        rows.forEach(function (r) { fragment.appendChild(r); });
        body.appendChild(fragment);
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") sort(); });
    });
    var selects = document.querySelectorAll("#alert-filters select");
    var count = document.getElementById("alert-count");
    function filter() {
      var shown = 0;
      Array.prototype.forEach.call(body.rows, function (row) {
        var ok = Array.prototype.every.call(selects, function (s) {
          var want = s.value, field = s.getAttribute("data-filter");
          if (!want) return true;
          var have = row.getAttribute("data-" + field) || "";
          return field === "drugs" ? have.split("|").indexOf(want) >= 0 : have === want;
        });
        row.hidden = !ok;
        if (ok) shown += 1;
      });
      if (count) count.textContent = shown + " of " + body.rows.length + " alerts";
    }
    Array.prototype.forEach.call(selects, function (s) { s.addEventListener("change", filter); });
    filter();
  }

  // ------------------------------------------------------------ patient index (data/patients.js)
  function patientIndex() {
    var table = document.getElementById("patient-table");
    if (!table) return;
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
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      heads[col].setAttribute("aria-sort", sortDir === 1 ? "ascending" : "descending");
      var num = numeric[col];
      var order = rows.map(function (_, i) { return i; });
      order.sort(function (i, j) {
        var x = rows[i][col], y = rows[j][col];
        if (num) { x = x === null ? -Infinity : x; y = y === null ? -Infinity : y; }
        else { x = String(x || "").toLowerCase(); y = String(y || "").toLowerCase(); }
        return x < y ? -sortDir : x > y ? sortDir : i - j;
      });
      rows = order.map(function (i) { return rows[i]; });
      lower = rows.map(function (r) { return String(r[0]).toLowerCase(); });
      search();
    }

    loadData("patients", function (data) {
      if (!data) { count.textContent = "The patient index (data/patients.js) could not be loaded."; return; }
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
      prev.addEventListener("click", function () { if (page > 0) { page -= 1; render(); } });
      next.addEventListener("click", function () { if ((page + 1) * PAGE < matches.length) { page += 1; render(); } });
      Array.prototype.forEach.call(heads, function (th, col) {
        th.addEventListener("click", function () { sortBy(col); });
        th.addEventListener("keydown", function (e) { if (e.key === "Enter") sortBy(col); });
      });
      search();
      window.ctdnaReadyAt = performance.now();
      window.ctdnaReady = true;
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

  alertTable();
  patientIndex();
  checksums();
})();
