/* ctdna-monitor report page (research use only). Runs offline from the data embedded in the page:
   sorts and filters the overview tables, draws the swimmer plot, and builds each patient's figure and
   tables only when the patient is opened or scrolled into view (keeps 1,000-patient reports fast).
   The swimmer plot is drawn by this script as SVG; plotly.js (patient figures) is evaluated only when first
   needed or when the browser is idle after the overview is ready. Input strings go into the DOM with
   textContent only; strings handed to plotly are HTML-escaped because plotly renders a subset of HTML in
   labels and hover text. */
(function () {
  "use strict";
  window.ctdnaScriptStart = performance.now();  // for the benchmark: page parsed up to this script
  var DATA = JSON.parse(document.getElementById("ctdna-data").textContent);
  var PATIENTS = DATA.patients;
  var KB = DATA.kb || {};
  window.ctdnaDataParsed = performance.now();  // knowledge-base id -> {resistance_to, evidence}, shared by all patients
  var CONFIG = {responsive: true, displaylogo: false, showLink: false, showSendToCloud: false};
  var KB_COLOURS = ["#d81b60", "#f57c00", "#8e24aa", "#c0392b"];
  var OTHER_COLOURS = ["#1f77b4", "#2ca02c", "#17becf", "#7f7f7f", "#9467bd", "#8c564b", "#bcbd22"];
  var THERAPY_COLOURS = ["#64b5f6", "#81c784", "#ffb74d", "#ba68c8", "#4db6ac", "#f06292", "#a1887f"];
  var RECIST = {PD: "#d62728", CR: "#2e7d32", PR: "#66bb6a", SD: "#757575", NE: "#bdbdbd"};
  var STATUS = ["detected", "not detected", "not assessable", "unknown"];
  var RESISTANCE = {pre_existing: 1, emergence: 1, rising: 1};
  var EVIDENCE_HOSTS = ["https://pubmed.ncbi.nlm.nih.gov/", "https://civicdb.org/"];

  function esc(value) {
    return String(value == null ? "" : value).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    });
    return node;
  }
  function pct(v) {
    if (v == null) return "";
    var p = v * 100;
    if (p === 0) return "0%";
    var decimals = Math.max(2, 1 - Math.floor(Math.log10(Math.abs(p))));
    return p.toFixed(Math.min(decimals, 8)) + "%";
  }
  function days(date, origin) {
    return Math.round((Date.parse(date) - Date.parse(origin)) / 86400000);
  }
  function evidenceNodes(links) {
    var out = [];
    links.forEach(function (link, i) {
      if (i) out.push(", ");
      var safe = link[1] && EVIDENCE_HOSTS.some(function (h) { return link[1].indexOf(h) === 0; });
      out.push(safe ? el("a", {href: link[1], rel: "noopener noreferrer", target: "_blank"}, [link[0]]) : link[0]);
    });
    return out;
  }

  /* ------------------------------------------------------------ sortable, filterable tables */
  function sortKey(row, col, numeric) {
    var cell = row.cells[col];
    if (!numeric) return cell.textContent.toLowerCase();
    var v = cell.getAttribute("data-v");
    return v === "" || v == null ? null : parseFloat(v);
  }
  function makeSortable(table) {
    var headers = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(headers, function (th, col) {
      function sort() {
        var numeric = th.getAttribute("data-sort") === "num";
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(headers, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = sortKey(a, col, numeric), y = sortKey(b, col, numeric);
          if (x === y) return 0;
          if (x === null) return 1;  // empty cells last in both directions
          if (y === null) return -1;
          return (x < y ? -1 : 1) * (asc ? 1 : -1);
        });
        var frag = document.createDocumentFragment();
        rows.forEach(function (r) { frag.appendChild(r); });
        body.appendChild(frag);
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
    });
  }
  function setupAlertFilters() {
    var table = document.getElementById("alert-table");
    if (!table) return;
    var selects = document.querySelectorAll("#alert-filters select");
    var count = document.getElementById("alert-count");
    function apply() {
      var shown = 0;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var ok = Array.prototype.every.call(selects, function (s) {
          var want = s.value, key = s.getAttribute("data-filter");
          if (!want) return true;
          var have = row.getAttribute("data-" + key) || "";
          return key === "drugs" ? have.split("|").indexOf(want) >= 0 : have === want;
        });
        row.hidden = !ok;
        if (ok) shown++;
      });
      count.textContent = shown + " of " + table.tBodies[0].rows.length + " alerts shown";
    }
    Array.prototype.forEach.call(selects, function (s) { s.addEventListener("change", apply); });
    apply();
  }
  function setupPatientFilter() {
    var input = document.getElementById("patient-filter");
    var table = document.getElementById("patient-table");
    if (!input || !table) return;
    var count = document.getElementById("patient-count");
    function apply() {
      var q = input.value.trim().toLowerCase(), shown = 0;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var ok = !q || row.getAttribute("data-patient").toLowerCase().indexOf(q) >= 0;
        row.hidden = !ok;
        if (ok) shown++;
      });
      count.textContent = shown + " of " + table.tBodies[0].rows.length + " patients shown";
    }
    input.addEventListener("input", apply);
    apply();
  }

  /* ------------------------------------------------------------ swimmer plot */
  function laneOrder() {
    // patients with an alert first (earliest lead-time patients are the story), then the rest; by id within
    return PATIENTS.map(function (p, i) { return i; }).sort(function (a, b) {
      var pa = PATIENTS[a], pb = PATIENTS[b];
      var ka = pa.alerts.length ? 0 : 1, kb = pb.alerts.length ? 0 : 1;
      if (ka !== kb) return ka - kb;
      return pa.id < pb.id ? -1 : pa.id > pb.id ? 1 : 0;
    });
  }
  // hand-drawn SVG (no plotly): one <path> per category (a subpath per mark) keeps 1,000 lanes to a few dozen
  // nodes; hover and click are resolved from the pointer position (lane from y, nearest mark from x)
  var SVGNS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, children) {
    var node = document.createElementNS(SVGNS, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }
  function niceStep(span, count) {
    var raw = span / Math.max(1, count), mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var norm = raw / mag;
    return (norm < 1.5 ? 1 : norm < 3.5 ? 2 : norm < 7.5 ? 5 : 10) * mag;
  }
  function r1(v) { return Math.round(v * 10) / 10; }
  function swimmerModel() {
    // per lane: its patient and its marks in days; per category the marks of every lane
    var order = laneOrder(), lanes = [], drugs = [], lo = 0, hi = 1;
    order.forEach(function (pi) {
      var p = PATIENTS[pi], lane = {pi: pi, id: p.id, bars: [], marks: [], lead: null};
      // day 0: first therapy start or first draw; a patient with neither (alerts or scans only): its first dated event
      var o = p.origin || p.scans.map(function (s) { return s[0]; }).concat(p.alerts.map(function (a) { return a.date; }))
        .filter(Boolean).sort()[0];
      function span(d) { if (isFinite(d)) { lo = Math.min(lo, d); hi = Math.max(hi, d); } return d; }
      p.therapies.forEach(function (t) {
        if (drugs.indexOf(t[0]) < 0) drugs.push(t[0]);
        lane.bars.push({drug: t[0], a: span(days(t[1], o)), b: span(days(t[2], o)),
                        text: t[0] + ": " + t[1] + " → " + t[2]});
      });
      p.draws.forEach(function (d) {
        lane.marks.push({kind: "draw", x: span(days(d[1], o)), text: "draw " + d[0] + " · " + d[1]});
      });
      p.scans.forEach(function (s) {
        var key = RECIST[s[1]] ? s[1] : "NE";
        lane.marks.push({kind: "scan " + key, x: span(days(s[0], o)), text: "scan " + s[0] + ": " + (s[1] || "?")});
      });
      p.alerts.forEach(function (a) {
        if (!a.date) return;
        lane.marks.push({kind: RESISTANCE[a.type] ? "resistance alert" : "molecular progression",
          x: span(days(a.date, o)), text: a.type + " " + a.variant + " · " + a.date + (a.therapy ? " · on " + a.therapy : "")});
      });
      if (p.lead) {
        lane.lead = {a: span(days(p.lead[0], o)), b: span(days(p.lead[1], o)), days: p.lead[2],
          text: "lead time " + (p.lead[2] == null ? "n/a" : p.lead[2] + " days") + ": first resistance alert " +
            p.lead[0] + " → PD scan " + p.lead[1]};
      }
      // anything without a usable date is left out of the lane (the patient's section still lists it)
      lane.bars = lane.bars.filter(function (b) { return isFinite(b.a) && isFinite(b.b); });
      lane.marks = lane.marks.filter(function (m) { return isFinite(m.x); });
      if (lane.lead && !(isFinite(lane.lead.a) && isFinite(lane.lead.b))) lane.lead = null;
      lanes.push(lane);
    });
    var pad = Math.max(1, (hi - lo) * 0.02);
    return {lanes: lanes, drugs: drugs, lo: lo - pad, hi: hi + pad};
  }
  var MARK_STYLE = {
    "draw": {stroke: "#424242", fill: "none"},
    "resistance alert": {fill: "#b71c1c", stroke: "none"},
    "molecular progression": {fill: "#6a1b9a", stroke: "none"}
  };
  Object.keys(RECIST).forEach(function (k) { MARK_STYLE["scan " + k] = {fill: RECIST[k], stroke: "none"}; });
  var MARK_ORDER = ["draw"].concat(Object.keys(RECIST).map(function (k) { return "scan " + k; }),
    ["resistance alert", "molecular progression"]);
  function markPath(kind, x, y, s) {
    // draws: a vertical tick; scans: a downward triangle; resistance alerts: a star; molecular progression: a diamond
    if (kind === "draw") return "M" + r1(x) + " " + r1(y - s) + "V" + r1(y + s);
    if (kind === "resistance alert") {
      var d = "";
      for (var k = 0; k < 10; k++) {
        var ang = Math.PI * k / 5 - Math.PI / 2, rad = k % 2 ? s * 0.45 : s * 1.15;
        d += (k ? "L" : "M") + r1(x + rad * Math.cos(ang)) + " " + r1(y + rad * Math.sin(ang));
      }
      return d + "Z";
    }
    if (kind === "molecular progression") {
      return "M" + r1(x) + " " + r1(y - s) + "L" + r1(x + s * 0.8) + " " + r1(y) + "L" + r1(x) + " " + r1(y + s) +
        "L" + r1(x - s * 0.8) + " " + r1(y) + "Z";
    }
    return "M" + r1(x - s) + " " + r1(y - s * 0.8) + "H" + r1(x + s) + "L" + r1(x) + " " + r1(y + s * 0.8) + "Z";
  }
  function legendItem(colour, label, shape) {
    var icon = svg("svg", {width: 18, height: 12, "aria-hidden": "true"});
    if (shape === "bar") icon.appendChild(svg("rect", {x: 1, y: 3, width: 16, height: 6, fill: colour}));
    else if (shape === "line") icon.appendChild(svg("path", {d: "M1 6H17", stroke: colour, "stroke-width": 3}));
    else icon.appendChild(svg("path", {d: markPath(shape, 9, 6, 5), fill: MARK_STYLE[shape].fill,
                                       stroke: MARK_STYLE[shape].stroke, "stroke-width": 1.5}));
    return el("span", {"class": "swim-key"}, [icon, label]);
  }
  var swimmerState = null;
  function drawSwimmer() {
    var box = document.getElementById("swimmer-plot");
    if (!box || !PATIENTS.length) return Promise.resolve();
    var model = swimmerState ? swimmerState.model : swimmerModel();
    var lanes = model.lanes, n = lanes.length;
    var lanePx = Math.max(5, Math.min(24, Math.floor(4000 / n)));
    var labelled = n <= 150;  // large cohorts: no per-lane labels (unreadable at a few pixels; the hover names the patient)
    var left = labelled ? 130 : 20, right = 20, top = 4;
    var width = Math.max(400, box.clientWidth || 800), inner = width - left - right;
    var height = top + n * lanePx + 6;
    function X(day) { return left + (day - model.lo) / (model.hi - model.lo) * inner; }
    function Y(lane) { return top + (lane + 0.5) * lanePx; }
    var step = niceStep(model.hi - model.lo, inner / 90), ticks = [];
    for (var t = Math.ceil(model.lo / step) * step; t <= model.hi; t += step) ticks.push(Math.round(t * 1e6) / 1e6);

    // legend (HTML, outside the scrolling box)
    var legend = document.getElementById("swimmer-legend");
    if (legend && !legend.firstChild) {
      model.drugs.forEach(function (d, i) { legend.appendChild(legendItem(THERAPY_COLOURS[i % THERAPY_COLOURS.length], d, "bar")); });
      var used = {};
      lanes.forEach(function (l) { l.marks.forEach(function (m) { used[m.kind] = 1; }); });
      MARK_ORDER.forEach(function (k) { if (used[k]) legend.appendChild(legendItem(null, k, k)); });
      legend.appendChild(legendItem("#ff6f00", "lead time (first resistance alert → PD scan)", "line"));
    }

    // x axis: sticky at the top of the scrolling box, so it stays visible over 1,000 lanes
    var axis = svg("svg", {"class": "swim-axis", width: width, height: 42, "aria-hidden": "true"});
    axis.appendChild(svg("text", {x: left + inner / 2, y: 13, "text-anchor": "middle", "class": "swim-title"},
      ["days from the first therapy start (or first draw)"]));
    ticks.forEach(function (t) {
      axis.appendChild(svg("text", {x: r1(X(t)), y: 31, "text-anchor": "middle"}, [String(t)]));
    });
    axis.appendChild(svg("path", {d: "M" + left + " 41.5H" + (left + inner) + ticks.map(function (t) {
      return "M" + r1(X(t)) + " 36V41.5"; }).join(""), stroke: "#555", fill: "none"}));

    var plot = svg("svg", {"class": "swim-lanes", width: width, height: height, tabindex: "0", role: "img",
      "aria-label": "Swimmer plot, " + n + " patients. Point at a lane for details; click a lane, or use the arrow keys " +
        "and Enter, to open the patient."});
    // vertical grid and day 0
    plot.appendChild(svg("path", {d: ticks.map(function (t) { return "M" + r1(X(t)) + " 0V" + height; }).join(""),
      stroke: "#eee", fill: "none"}));
    if (model.lo < 0) plot.appendChild(svg("path", {d: "M" + r1(X(0)) + " 0V" + height, stroke: "#999", fill: "none"}));
    var highlight = svg("rect", {x: 0, y: 0, width: width, height: lanePx, fill: "#fff59d", opacity: 0, "class": "swim-hl"});
    plot.appendChild(highlight);
    // therapy bars: one path per drug
    var barH = Math.max(3, lanePx * 0.55), bars = model.drugs.map(function () { return []; });
    var lead = [], leadW = Math.max(2, lanePx * 0.2), marks = {}, s = Math.max(2.5, lanePx * 0.3);
    lanes.forEach(function (l, i) {
      var y = Y(i);
      l.bars.forEach(function (b) {
        bars[model.drugs.indexOf(b.drug)].push("M" + r1(X(b.a)) + " " + r1(y - barH / 2) + "H" + r1(Math.max(X(b.b), X(b.a) + 1)) +
          "V" + r1(y + barH / 2) + "H" + r1(X(b.a)) + "Z");
      });
      if (l.lead) {
        var ly = r1(y + lanePx * 0.32 - (lanePx > 10 ? 0 : lanePx * 0.32));
        lead.push("M" + r1(X(l.lead.a)) + " " + ly + "H" + r1(X(l.lead.b)));
        if (lanePx > 10) lead.push("M" + r1(X(l.lead.a)) + " " + r1(ly - 3) + "V" + r1(ly + 3) +
                                   "M" + r1(X(l.lead.b)) + " " + r1(ly - 3) + "V" + r1(ly + 3));
      }
      l.marks.forEach(function (m) { (marks[m.kind] = marks[m.kind] || []).push(markPath(m.kind, X(m.x), y, s)); });
    });
    bars.forEach(function (parts, i) {
      plot.appendChild(svg("path", {"class": "swim-therapy", d: parts.join(""), fill: THERAPY_COLOURS[i % THERAPY_COLOURS.length]}));
    });
    plot.appendChild(svg("path", {"class": "swim-lead", d: lead.join(""), stroke: "#ff6f00", "stroke-width": leadW, fill: "none"}));
    MARK_ORDER.forEach(function (k) {
      if (!marks[k]) return;
      plot.appendChild(svg("path", {"class": "swim-mark", "data-kind": k, d: marks[k].join(""), fill: MARK_STYLE[k].fill,
        stroke: MARK_STYLE[k].stroke, "stroke-width": 1}));
    });
    if (n <= 80) lanes.forEach(function (l, i) {
      if (!l.lead || l.lead.days == null) return;
      plot.appendChild(svg("text", {x: r1((X(l.lead.a) + X(l.lead.b)) / 2), y: r1(Y(i) + lanePx * 0.32 - 3),
        "text-anchor": "middle", "class": "swim-leadlabel"}, [l.lead.days + " d"]));
    });
    if (labelled) lanes.forEach(function (l, i) {
      plot.appendChild(svg("text", {x: left - 6, y: r1(Y(i) + 4), "text-anchor": "end", "class": "swim-label"}, [l.id]));
    });

    // tooltip: plain text nodes (input strings never become markup)
    var tip = document.getElementById("swimmer-tip") || document.body.appendChild(el("div", {id: "swimmer-tip", role: "tooltip", hidden: ""}));
    function describe(i, day) {
      var l = lanes[i], px = (model.hi - model.lo) / inner, best = null, dist = 7 * px, lines = [];
      l.marks.forEach(function (m) {
        var d = Math.abs(m.x - day);
        if (d <= dist) { dist = d; best = m; }
      });
      if (best) lines.push(best.text);
      else if (l.lead && day >= l.lead.a && day <= l.lead.b) lines.push(l.lead.text);
      else l.bars.forEach(function (b) { if (day >= b.a && day <= b.b) lines.push(b.text); });
      if (!lines.length) {
        var counts = {};
        l.marks.forEach(function (m) { var k = m.kind.indexOf("scan") === 0 ? "scan" : m.kind; counts[k] = (counts[k] || 0) + 1; });
        lines.push(Object.keys(counts).map(function (k) { return counts[k] + " " + k + (counts[k] > 1 ? "s" : ""); })
          .join(", ") || "no draws, scans or alerts");
        if (l.lead) lines.push(l.lead.text);
      }
      return lines;
    }
    function show(i, day, clientX, clientY) {
      if (i < 0 || i >= n) { hide(); return; }
      highlight.setAttribute("y", top + i * lanePx);
      highlight.setAttribute("opacity", 0.6);
      tip.textContent = "";
      tip.appendChild(el("strong", {}, ["Patient " + lanes[i].id]));
      describe(i, day).forEach(function (line) { tip.appendChild(el("div", {}, [line])); });
      tip.hidden = false;
      var x = Math.min(clientX + 14, window.innerWidth - tip.offsetWidth - 8);
      var y = clientY + 14 + tip.offsetHeight > window.innerHeight ? clientY - tip.offsetHeight - 10 : clientY + 14;
      tip.style.left = Math.max(4, x) + "px";
      tip.style.top = Math.max(4, y) + "px";
      plot.setAttribute("data-lane", String(i));
    }
    function hide() { tip.hidden = true; highlight.setAttribute("opacity", 0); }
    function at(ev) {
      var rect = plot.getBoundingClientRect();
      return {lane: Math.floor((ev.clientY - rect.top - top) / lanePx),
              day: model.lo + (ev.clientX - rect.left - left) / inner * (model.hi - model.lo)};
    }
    plot.addEventListener("mousemove", function (ev) { var a = at(ev); show(a.lane, a.day, ev.clientX, ev.clientY); });
    plot.addEventListener("mouseleave", hide);
    plot.addEventListener("click", function (ev) {
      var a = at(ev);
      if (a.lane >= 0 && a.lane < n) openPatient(lanes[a.lane].pi);
    });
    var active = -1;
    plot.addEventListener("blur", hide);
    plot.addEventListener("keydown", function (ev) {
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        active = Math.max(0, Math.min(n - 1, active + (ev.key === "ArrowDown" ? 1 : -1)));
        var rect = plot.getBoundingClientRect(), scroller = plot.parentNode.parentNode;
        var laneTop = top + active * lanePx;
        if (laneTop < scroller.scrollTop + 42 || laneTop + lanePx > scroller.scrollTop + scroller.clientHeight) {
          scroller.scrollTop = laneTop - scroller.clientHeight / 2;
          rect = plot.getBoundingClientRect();
        }
        show(active, model.hi + 1e9, rect.left + left, rect.top + laneTop + lanePx);
      } else if (ev.key === "Enter" && active >= 0) {
        ev.preventDefault();
        openPatient(lanes[active].pi);
      } else if (ev.key === "Escape") hide();
    });
    box.textContent = "";
    box.appendChild(axis);
    box.appendChild(plot);
    swimmerState = {model: model, width: box.clientWidth};
    window.ctdnaSwimmerBuilt = window.ctdnaSwimmerBuilt || performance.now();  // for the benchmark (before layout and paint)
    return Promise.resolve();
  }
  function redrawSwimmerOnResize() {
    var timer = null;
    window.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var box = document.getElementById("swimmer-plot");
        if (box && swimmerState && box.clientWidth !== swimmerState.width) drawSwimmer();
      }, 150);
    });
  }

  /* ------------------------------------------------------------ one patient */
  function depthText(c) { return c[3] == null ? "" : c[3].toLocaleString("en-US") + "×"; }
  function cellText(c) {
    if (!c) return "—";
    var marks = (c[6] ? "ᴮ" : "") + (c[7] ? "ᶠ" : "");
    // a negative result is reported with its depth and LoD95: "ND (<0.07%, 4,506×)"
    if (c[0] === 1) return "ND" + marks + " (" + (c[4] != null ? "<" + pct(c[4]) + ", " : "") + depthText(c) + ")";
    if (c[0] === 2 || c[1] == null) return "NA" + marks;
    return pct(c[1]) + marks;
  }
  function guardText(guard) {
    if (guard === "chip_gene") return "clonal-haematopoiesis gene, not the ctDNA level";
    if (guard === "germline_like") return "germline-like VAF, not the ctDNA level";
    if (guard.indexOf("filter_") === 0) return "caller FILTER " + guard.slice(7) + " at every detection: not the ctDNA level, no alert";
    return guard;
  }
  function hover(p, v, draw, c) {
    var s = esc(v.label) + "<br>" + esc(draw[0]) + " · " + draw[1];
    var kb = KB[v.kb_id] || {};
    if (v.kb_id) s += "<br><b>knowledge base " + esc(v.kb_id) + "</b>" +
      (kb.resistance_to ? ": resistance to " + esc(kb.resistance_to) : "");
    if (c[6]) s += "<br>re-genotyped from the BAM (the VCF had no record)";
    if (c[7]) s += "<br>caller FILTER: " + esc(c[7]);
    if (v.guard) s += "<br>guard: " + esc(guardText(v.guard));
    if (c[0] === 1) return s + "<br>not detected at " + (depthText(c) || "unknown depth") + " (LoD95 " + (pct(c[4]) || "n/a") + ")";
    if (c[0] === 2) return s + "<br>not assessable (LoD " + (pct(c[4]) || "n/a") + " above the assessable VAF)";
    return s + "<br>VAF " + (pct(c[1]) || "n/a") + " (" + (c[2] == null ? "?" : c[2]) + "/" +
      (c[3] == null ? "?" : c[3]) + " reads" + (c[5] != null ? ", p=" + c[5] : "") + ")";
  }
  function patientTraces(p) {
    var traces = [], kbi = 0, oi = 0, floor = p.floor;
    var na = {x: [], y: [], text: []};
    // LoD band: the median LoD95 over the patient's sites at each draw (floor to LoD shaded)
    var band = {x: [], lo: [], hi: []};
    p.draws.forEach(function (d, j) {
      var lods = p.variants.map(function (v) { return v.cells[j] && v.cells[j][4]; })
        .filter(function (x) { return x != null && x > 0; }).sort(function (a, b) { return a - b; });
      if (!lods.length) return;
      band.x.push(d[1]); band.lo.push(floor); band.hi.push(lods[Math.floor(lods.length / 2)]);
    });
    if (band.x.length) {
      traces.push({type: "scatter", x: band.x, y: band.lo, mode: "lines", line: {width: 0}, hoverinfo: "skip",
                   showlegend: false});
      traces.push({type: "scatter", x: band.x, y: band.hi, mode: "lines", fill: "tonexty", name: "LoD95 band (median over sites)",
                   fillcolor: "rgba(120,120,120,0.15)", line: {width: 1, color: "rgba(120,120,120,0.5)", dash: "dot"},
                   hovertemplate: "median LoD95 %{y:.3~%}<extra></extra>"});
    }
    p.variants.forEach(function (v) {
      var colour = v.kb_id ? KB_COLOURS[kbi++ % KB_COLOURS.length] : OTHER_COLOURS[oi++ % OTHER_COLOURS.length];
      var det = {x: [], y: [], text: []}, nd = {x: [], y: [], text: []};
      v.cells.forEach(function (c, j) {
        if (!c) return;
        var d = p.draws[j];
        if (c[0] === 2 || c[0] === 3 || (c[0] === 0 && c[1] == null)) {
          na.x.push(d[1]); na.y.push(floor); na.text.push(hover(p, v, d, c)); return;
        }
        var target = c[0] === 0 ? det : nd;
        target.x.push(d[1]);
        target.y.push(c[0] === 0 ? Math.max(c[1], floor) : (c[4] > 0 ? c[4] : floor));
        target.text.push(hover(p, v, d, c));
      });
      var name = esc((v.kb_id ? "★ " : "") + v.label), size = v.kb_id ? 9 : 7, group = "v" + traces.length;
      traces.push({type: "scatter", x: det.x, y: det.y, mode: "lines+markers", name: name, legendgroup: group,
        hovertext: det.text, hoverinfo: "text", line: {color: colour, width: v.kb_id ? 4 : 1.5},
        marker: {symbol: "circle", size: size, color: colour}});
      traces.push({type: "scatter", x: nd.x, y: nd.y, mode: "markers", name: name + " (not detected, at LoD)",
        legendgroup: group, showlegend: false, hovertext: nd.text, hoverinfo: "text",
        marker: {symbol: "circle-open", size: size, color: colour, line: {width: 2, color: colour}}});
    });
    if (na.x.length) traces.push({type: "scatter", x: na.x, y: na.y, mode: "markers", name: "not assessable",
      hovertext: na.text, hoverinfo: "text", marker: {symbol: "x-thin-open", size: 9, color: "#616161", line: {width: 2}}});
    var al = {x: [], y: [], text: []};
    p.alerts.forEach(function (a) {
      if (!a.date) return;
      al.x.push(a.date); al.y.push(a.vaf > 0 ? Math.max(a.vaf, floor) : floor);
      al.text.push("<b>" + esc(a.type) + "</b> " + esc(a.variant) + "<br>" + a.date + " · VAF " + (pct(a.vaf) || "n/a") +
        "<br>therapy: " + (esc(a.therapy) || "—") + (a.resistance_to ? "<br>resistance to: " + esc(a.resistance_to) : ""));
    });
    if (al.x.length) traces.push({type: "scatter", x: al.x, y: al.y, mode: "markers", name: "alert", hovertext: al.text,
      hoverinfo: "text", marker: {symbol: "star-diamond-open", size: 18, color: "#b71c1c", line: {width: 2}}});
    return {traces: traces, alertPoints: al};
  }
  function patientLayout(p, alertPoints) {
    var shapes = [], notes = [];
    p.therapies.forEach(function (t) {
      shapes.push({type: "rect", xref: "x", yref: "paper", x0: t[1], x1: t[2], y0: 0, y1: 1, fillcolor: "#90caf9",
                   opacity: 0.18, line: {width: 0}, layer: "below"});
      notes.push({x: t[1], y: 1, xref: "x", yref: "paper", xanchor: "left", yanchor: "bottom", text: esc(t[0]),
                  showarrow: false, font: {size: 11, color: "#0d47a1"}});
    });
    p.scans.forEach(function (s) {
      var colour = RECIST[s[1]] || "#555";
      shapes.push({type: "line", xref: "x", yref: "paper", x0: s[0], x1: s[0], y0: 0, y1: 1,
                   line: {color: colour, width: s[1] === "PD" ? 2 : 1, dash: "dot"}});
      notes.push({x: s[0], y: 0, xref: "x", yref: "paper", yanchor: "bottom", text: "<b>" + esc(s[1] || "scan") + "</b>",
                  showarrow: false, font: {size: 11, color: colour}, bgcolor: "rgba(255,255,255,0.8)"});
    });
    p.alerts.forEach(function (a, i) {
      if (!a.date) return;
      notes.push({x: a.date, y: Math.log10(alertPoints.y[i] || p.floor), xref: "x", yref: "y", text: esc(a.type),
                  showarrow: true, arrowhead: 2, ax: 0, ay: -30, font: {size: 10, color: "#b71c1c"}});
    });
    return {template: "none", shapes: shapes, annotations: notes, margin: {l: 60, r: 20, t: 40, b: 40},
      hovermode: "closest", legend: {orientation: "h", y: -0.15}, plot_bgcolor: "white",
      xaxis: {type: "date", title: {text: "draw date"}, gridcolor: "#eee"},
      yaxis: {type: "log", title: {text: "VAF (log scale)"}, tickformat: ".2~%", gridcolor: "#eee"}};
  }
  function variantTable(p) {
    if (!p.variants.length || !p.draws.length) return el("p", {"class": "muted"}, ["No variant calls."]);
    var head = el("tr", {}, [el("th", {}, ["Variant"]), el("th", {}, ["Knowledge base / resistance to"])]);
    p.draws.forEach(function (d) { head.appendChild(el("th", {}, [d[1], el("br"), d[0]])); });
    var body = el("tbody");
    p.variants.forEach(function (v) {
      var label = [(v.kb_id ? "★ " : "") + v.label];
      if (v.guard) label.push(el("br"), el("span", {"class": "muted"}, ["guard: " + guardText(v.guard)]));
      var row = el("tr", {}, [el("td", v.kb_id ? {"class": "kb"} : {}, label),
        el("td", {}, v.kb_id ? [v.kb_id + (KB[v.kb_id] && KB[v.kb_id].resistance_to ? ": " + KB[v.kb_id].resistance_to : "")] : [])]);
      v.cells.forEach(function (c) {
        var title = c ? STATUS[c[0]] + (c[7] ? "; caller FILTER " + c[7] : "") : "no record";
        row.appendChild(el("td", {"class": "num s" + (c ? c[0] : "x"), title: title}, [cellText(c)]));
      });
      body.appendChild(row);
    });
    return el("div", {"class": "scroll"}, [el("table", {"class": "vaf-table"}, [el("thead", {}, [head]), body])]);
  }
  function alertTable(p) {
    if (!p.alerts.length) return el("p", {"class": "muted"}, ["No alerts."]);
    var cols = ["Type", "Variant", "Draw", "VAF", "Therapy", "Resistance to", "PD scan", "Lead time (days)",
                "Confirmed", "Evidence"];
    var body = el("tbody");
    p.alerts.forEach(function (a) {
      var evidence = a.evidence.length ? evidenceNodes(a.evidence) :
        [a.kb_id ? "none recorded" : "pooled truncal ctDNA level (not a knowledge-base variant)"];
      body.appendChild(el("tr", {}, [el("td", {}, [a.type]), el("td", {}, [a.variant]),
        el("td", {}, [a.date + " " + a.sample]), el("td", {"class": "num"}, [pct(a.vaf)]),
        el("td", {}, [a.therapy]), el("td", {}, [a.resistance_to]), el("td", {}, [a.progression]),
        el("td", {"class": "num"}, [a.lead == null ? "" : String(a.lead)]), el("td", {}, [a.confirmed]),
        el("td", {"class": "evidence"}, evidence)]));
    });
    return el("div", {"class": "scroll"}, [el("table", {}, [el("thead", {}, [el("tr", {}, cols.map(function (c) {
      return el("th", {}, [c]); }))]), body])]);
  }
  /* plotly.js is embedded as inert text and evaluated only when a patient is first drawn, or when the browser is
     idle after the overview is interactive: evaluating its 4.6 MB would otherwise delay the overview by seconds */
  function ensurePlotly() {
    if (window.Plotly) return true;
    var src = document.getElementById("plotly-src");
    if (!src) return false;
    var started = performance.now();
    var script = document.createElement("script");
    script.textContent = src.type === "application/json" ? JSON.parse(src.textContent) : src.textContent;
    src.parentNode.removeChild(src);
    document.head.appendChild(script);  // runs synchronously (the policy allows inline script)
    window.ctdnaPlotlyLoaded = performance.now();  // for the tests and the benchmark
    window.ctdnaPlotlyMs = window.ctdnaPlotlyLoaded - started;
    return !!window.Plotly;
  }
  function preloadPlotlyWhenIdle() {
    if (window.requestIdleCallback) requestIdleCallback(function () { ensurePlotly(); }, {timeout: 3000});
    else setTimeout(ensurePlotly, 300);
  }
  var rendered = {};
  function renderPatient(i) {
    if (rendered[i]) return;
    rendered[i] = true;
    var started = performance.now();
    var p = PATIENTS[i], section = document.getElementById(p.anchor);
    var body = section.querySelector(".patient-body");
    var r = p.response;
    var facts = p.draws.length + " draw(s), " + p.variants.length + " variant(s), " +
      (p.alerts.length ? p.alerts.length + " alert(s)" : "no alerts") +
      (p.therapies.length || p.scans.length ? "" : "; no clinical events recorded") +
      (r && r.response ? "; molecular response: " + r.response +
        (r.change != null ? " (" + (r.change > 0 ? "+" : "") + r.change + "% from baseline)" : "") : "") + ".";
    var plot = el("div", {"class": "fig", id: p.anchor + "-plot"});
    body.textContent = "";
    [el("p", {"class": "muted"}, [facts]), plot,
     el("h3", {}, ["VAF by draw"]), variantTable(p),
     el("p", {"class": "note"}, ["ND: not detected (LoD95 and depth in brackets); NA: not assessable; —: no record; " +
       "ᴮ: counted in the draw's BAM where its VCF had no record; ᶠ: a caller FILTER value that guards or holds back an alert (point at the " +
       "cell); ★: knowledge-base variant."]),
     el("h3", {}, ["Alerts and evidence"]), alertTable(p),
     el("p", {}, [el("a", {href: "#overview"}, ["↑ back to the overview"])])
    ].forEach(function (n) { body.appendChild(n); });
    var built = patientTraces(p);
    if (!ensurePlotly()) { plot.textContent = "The plotting library could not be loaded."; return; }
    Plotly.newPlot(plot, built.traces, patientLayout(p, built.alertPoints), CONFIG).then(function () {
      section.setAttribute("data-draw-ms", String(Math.round(performance.now() - started)));  // for the benchmark
      section.setAttribute("data-rendered", "1");
    });
  }
  var byAnchor = {};
  PATIENTS.forEach(function (p, i) { byAnchor[p.anchor] = i; });
  function openPatient(i) {
    renderPatient(i);
    var target = "#" + PATIENTS[i].anchor;
    if (location.hash !== target) location.hash = target;
    else document.getElementById(PATIENTS[i].anchor).scrollIntoView();
  }
  function fromHash() {
    var i = byAnchor[decodeURIComponent(location.hash.slice(1))];
    if (i != null) { renderPatient(i); document.getElementById(PATIENTS[i].anchor).scrollIntoView(); }
  }
  function setupLazyPatients() {
    if (!("IntersectionObserver" in window)) { PATIENTS.forEach(function (_, i) { renderPatient(i); }); return; }
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        if (e.isIntersecting) { renderPatient(byAnchor[e.target.id]); observer.unobserve(e.target); }
      });
    }, {rootMargin: "300px"});
    PATIENTS.forEach(function (p) { observer.observe(document.getElementById(p.anchor)); });
  }
  function setupChecksums() {
    var details = document.getElementById("checksums");
    if (!details) return;
    details.addEventListener("toggle", function () {
      var box = document.getElementById("checksum-box");
      if (!details.open || box.firstChild) return;
      var rows = (DATA.checksums || []).map(function (c) {
        return el("tr", {}, [el("td", {}, [c[0]]), el("td", {}, [c[1]]), el("td", {"class": "num"}, [c[2]]),
                             el("td", {"class": "mono"}, [c[3]])]);
      });
      box.appendChild(rows.length ? el("table", {}, [el("thead", {}, [el("tr", {}, ["File", "Path", "Bytes", "SHA-256"]
        .map(function (h) { return el("th", {}, [h]); }))]), el("tbody", {}, rows)]) :
        el("p", {"class": "muted"}, ["No checksums recorded."]));
    });
  }

  /* ------------------------------------------------------------ start */
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);
  setupAlertFilters();
  setupPatientFilter();
  setupChecksums();
  window.addEventListener("hashchange", fromHash);
  window.ctdnaTablesReady = performance.now();
  redrawSwimmerOnResize();
  drawSwimmer().then(function () {
    // the overview is drawn; after the next frame and once the main thread is free it is usable:
    // what the browser tests and the time-to-interactive benchmark wait for
    return new Promise(function (done) { requestAnimationFrame(function () { setTimeout(done, 0); }); });
  }).then(function () {
    window.ctdnaReady = performance.now();
    window.ctdnaPlotlyAtReady = typeof window.Plotly;  // for the tests: plotly.js is not evaluated before this point
    document.body.setAttribute("data-ready", "1");
    setupLazyPatients();
    fromHash();
    preloadPlotlyWhenIdle();  // so that the first patient opened does not wait for it
    // small cohorts: draw every patient right away (?lazy forces on-demand drawing, as for large cohorts)
    if (PATIENTS.length <= DATA.eager_limit && !/[?&]lazy\b/.test(location.search)) {
      var next = 0;
      (function step() { if (next < PATIENTS.length) { renderPatient(next++); setTimeout(step, 0); } })();
    }
  });
})();
