/* ctdna-monitor report page (research use only). Runs offline from the data embedded in the page:
   sorts and filters the overview tables, draws the swimmer plot, and builds each patient's figure and
   tables only when the patient is opened or scrolled into view (keeps 1,000-patient reports fast).
   Input strings go into the DOM with textContent only; strings handed to plotly are HTML-escaped
   because plotly renders a subset of HTML in labels and hover text. */
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
  function drawSwimmer() {
    var box = document.getElementById("swimmer-plot");
    if (!box || !PATIENTS.length) return Promise.resolve();
    var order = laneOrder(), n = order.length;
    var lanePx = Math.max(5, Math.min(24, Math.floor(4000 / n)));
    // large cohorts: draws, scans and alerts become short vertical strokes of one path per trace instead of one
    // SVG marker each (thousands of nodes are what makes plotly slow); hover and click still work
    var compact = n > 150;
    function mark(pts, x, lane, text, pi) {
      if (!compact) { pts.x.push(x); pts.y.push(lane); pts.text.push(text); pts.cd.push(pi); return; }
      pts.x.push(x, x, null); pts.y.push(lane - 0.4, lane + 0.4, null);
      pts.text.push(text, text, null); pts.cd.push(pi, pi, null);
    }
    var therapy = {}, therapyNames = [];
    var draws = {x: [], y: [], text: [], cd: []}, lead = {x: [], y: [], text: [], cd: []};
    var leadLabels = {x: [], y: [], text: []};
    var scans = {}, res = {x: [], y: [], text: [], cd: []}, mol = {x: [], y: [], text: [], cd: []};
    order.forEach(function (pi, lane) {
      var p = PATIENTS[pi], o = p.origin;
      p.therapies.forEach(function (t) {
        if (!therapy[t[0]]) { therapy[t[0]] = {x: [], y: [], text: [], cd: []}; therapyNames.push(t[0]); }
        var tr = therapy[t[0]], hover = esc(p.id) + "<br>" + esc(t[0]) + ": " + t[1] + " → " + t[2];
        tr.x.push(days(t[1], o), days(t[2], o), null);
        tr.y.push(lane, lane, null);
        tr.text.push(hover, hover, null);
        tr.cd.push(pi, pi, null);
      });
      p.draws.forEach(function (d) {
        mark(draws, days(d[1], o), lane, esc(p.id) + "<br>draw " + esc(d[0]) + " · " + d[1], pi);
      });
      p.scans.forEach(function (s) {
        var key = RECIST[s[1]] ? s[1] : "NE";
        if (!scans[key]) scans[key] = {x: [], y: [], text: [], cd: []};
        mark(scans[key], days(s[0], o), lane, esc(p.id) + "<br>scan " + s[0] + ": " + esc(s[1]), pi);
      });
      p.alerts.forEach(function (a) {
        if (!a.date) return;
        mark(RESISTANCE[a.type] ? res : mol, days(a.date, o), lane, esc(p.id) + "<br><b>" + esc(a.type) + "</b> " +
          esc(a.variant) + "<br>" + a.date + (a.therapy ? " · on " + esc(a.therapy) : ""), pi);
      });
      if (p.lead) {
        var hover = esc(p.id) + "<br>lead time " + (p.lead[2] == null ? "n/a" : p.lead[2] + " days") +
          "<br>first resistance alert " + p.lead[0] + " → PD scan " + p.lead[1];
        lead.x.push(days(p.lead[0], o), days(p.lead[1], o), null);
        lead.y.push(lane + 0.32, lane + 0.32, null);
        lead.text.push(hover, hover, null);
        lead.cd.push(pi, pi, null);
        if (n <= 80 && p.lead[2] != null) {
          leadLabels.x.push((days(p.lead[0], o) + days(p.lead[1], o)) / 2);
          leadLabels.y.push(lane + 0.32);
          leadLabels.text.push(p.lead[2] + " d");
        }
      }
    });
    function trace(name, pts, extra) {
      return Object.assign({type: "scatter", name: name, x: pts.x, y: pts.y, hovertext: pts.text,
        hoverinfo: "text", customdata: pts.cd}, extra);
    }
    var traces = therapyNames.map(function (name, i) {
      return trace(esc(name), therapy[name], {mode: "lines", connectgaps: false,
        line: {color: THERAPY_COLOURS[i % THERAPY_COLOURS.length], width: Math.max(3, lanePx * 0.55)}});
    });
    traces.push(trace("draw", draws, compact ? {mode: "lines", line: {color: "#424242", width: 1}} : {mode: "markers",
      marker: {symbol: "line-ns-open", size: Math.max(4, lanePx * 0.6), color: "#424242", line: {width: 1}}}));
    Object.keys(scans).forEach(function (k) {
      traces.push(trace("scan " + k, scans[k], compact ? {mode: "lines", line: {color: RECIST[k], width: 3}} : {mode: "markers",
        marker: {symbol: "triangle-down", size: Math.max(5, lanePx * 0.6), color: RECIST[k]}}));
    });
    traces.push(trace("lead time (first resistance alert → PD)", lead, {mode: compact ? "lines" : "lines+markers",
      line: {color: "#ff6f00", width: Math.max(2, lanePx * 0.2)},
      marker: {symbol: "line-ns", size: Math.max(4, lanePx * 0.4), color: "#ff6f00", line: {width: 2, color: "#ff6f00"}}}));
    if (leadLabels.x.length) traces.push({type: "scatter", mode: "text", x: leadLabels.x, y: leadLabels.y,
      text: leadLabels.text, textposition: "bottom center", textfont: {size: 10, color: "#e65100"},
      hoverinfo: "skip", showlegend: false});
    traces.push(trace("resistance alert", res, compact ? {mode: "lines", line: {color: "#b71c1c", width: 5}} :
      {mode: "markers", marker: {symbol: "star", size: Math.max(7, lanePx * 0.7), color: "#b71c1c"}}));
    traces.push(trace("molecular progression", mol, compact ? {mode: "lines", line: {color: "#6a1b9a", width: 4}} :
      {mode: "markers", marker: {symbol: "diamond", size: Math.max(6, lanePx * 0.55), color: "#6a1b9a"}}));
    var ticks = order.map(function (pi) { return esc(PATIENTS[pi].id); });
    var layout = {
      template: "none", height: 110 + n * lanePx, margin: {l: compact ? 30 : 120, r: 20, t: 10, b: 50},
      hovermode: "closest", showlegend: true, legend: {orientation: "h", y: 1, yanchor: "bottom", x: 0},
      xaxis: {title: {text: "days from the first therapy start (or first draw)"}, zeroline: true,
              gridcolor: "#eee", side: "bottom"},
      // large cohorts: no per-lane tick labels (unreadable at a few pixels; the hover names the patient)
      // an explicit descending range (first lane on top); autorange would pad it by 5% at both ends
      yaxis: compact ? {range: [n - 0.4, -0.6], showticklabels: false, showgrid: false, zeroline: false, ticks: ""} :
        {range: [n - 0.4, -0.6], tickvals: order.map(function (_, i) { return i; }), ticktext: ticks,
         showgrid: false, zeroline: false},
      plot_bgcolor: "white"
    };
    box.style.height = layout.height + "px";
    return Plotly.newPlot(box, traces, layout, CONFIG).then(function () {
      box.on("plotly_click", function (ev) {
        var pt = ev.points && ev.points[0];
        if (pt && pt.customdata != null) openPatient(pt.customdata);
      });
    });
  }

  /* ------------------------------------------------------------ one patient */
  function cellText(c) {
    if (!c) return "—";
    var bam = c[6] ? "ᴮ" : "";
    if (c[0] === 1) return "ND" + bam + (c[4] != null ? " (<" + pct(c[4]) + ")" : "");
    if (c[0] === 2 || c[1] == null) return "NA";
    return pct(c[1]) + bam;
  }
  function hover(p, v, draw, c) {
    var s = esc(v.label) + "<br>" + esc(draw[0]) + " · " + draw[1];
    var kb = KB[v.kb_id] || {};
    if (v.kb_id) s += "<br><b>knowledge base " + esc(v.kb_id) + "</b>" +
      (kb.resistance_to ? ": resistance to " + esc(kb.resistance_to) : "");
    if (c[6]) s += "<br>re-genotyped from the BAM (the VCF had no record)";
    if (c[0] === 1) return s + "<br>not detected (LoD " + (pct(c[4]) || "n/a") + ")";
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
      var row = el("tr", {}, [el("td", v.kb_id ? {"class": "kb"} : {}, [(v.kb_id ? "★ " : "") + v.label]),
        el("td", {}, v.kb_id ? [v.kb_id + (KB[v.kb_id] && KB[v.kb_id].resistance_to ? ": " + KB[v.kb_id].resistance_to : "")] : [])]);
      v.cells.forEach(function (c) {
        row.appendChild(el("td", {"class": "num s" + (c ? c[0] : "x"), title: c ? STATUS[c[0]] : "no record"}, [cellText(c)]));
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
     el("p", {"class": "note"}, ["ND: not detected (LoD95 in brackets); NA: not assessable; —: no record; " +
       "ᴮ: counted in the draw's BAM where its VCF had no record; ★: knowledge-base variant."]),
     el("h3", {}, ["Alerts and evidence"]), alertTable(p),
     el("p", {}, [el("a", {href: "#overview"}, ["↑ back to the overview"])])
    ].forEach(function (n) { body.appendChild(n); });
    var built = patientTraces(p);
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
  drawSwimmer().then(function () {
    // the overview is drawn; after the next frame and once the main thread is free it is usable:
    // what the browser tests and the time-to-interactive benchmark wait for
    return new Promise(function (done) { requestAnimationFrame(function () { setTimeout(done, 0); }); });
  }).then(function () {
    window.ctdnaReady = performance.now();
    document.body.setAttribute("data-ready", "1");
    setupLazyPatients();
    fromHash();
    // small cohorts: draw every patient right away (?lazy forces on-demand drawing, as for large cohorts)
    if (PATIENTS.length <= DATA.eager_limit && !/[?&]lazy\b/.test(location.search)) {
      var next = 0;
      (function step() { if (next < PATIENTS.length) { renderPatient(next++); setTimeout(step, 0); } })();
    }
  });
})();
