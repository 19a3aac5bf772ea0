"""Tests for the offline HTML report (ctdna_monitor.report)."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd
import plotly.offline
import pytest

from ctdna_monitor.report import NOTICE, evidence_html, patient_anchor, render_report

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(1)</script>"
HOSTILE = [IMG, SCRIPT]
P1 = "PT-001"
P2 = "PT" + IMG  # hostile patient id, no events
P3 = "PT-003"  # no alerts
NAN = np.nan


def _row(patient, sample, date, gene, protein, pos, vaf, status, kb_id="", lod=0.001):
    alt_reads = 0 if status != "detected" else int(round((vaf or 0) * 5000))
    return {
        "patient": patient, "sample": sample, "date": date, "chrom": "chr7", "pos": pos,
        "ref": "C", "alt": "T", "gene": gene, "protein_change": protein,
        "alt_reads": alt_reads, "depth": 5000 if status != "not_assessable" else 40,
        "vaf": vaf, "status": status, "p_value": 1e-9 if status == "detected" else 0.6,
        "lod": lod, "kb_id": kb_id, "caller": "extra-column-ignored",
    }


@pytest.fixture
def timeline() -> pd.DataFrame:
    rows = [
        # P1: a KB-listed resistance variant emerging, and an unannotated passenger
        _row(P1, "S1", "2023-01-10", "EGFR", "p.T790M", 55181378, NAN, "not_detected", "CIViC:EID123"),
        _row(P1, "S2", "2023-03-10", "EGFR", "p.T790M", 55181378, 0.004, "detected", "CIViC:EID123"),
        _row(P1, "S3", "2023-05-10", "EGFR", "p.T790M", 55181378, 0.031, "detected", "CIViC:EID123"),
        _row(P1, "S1", "2023-01-10", "", "", 1000, 0.02, "detected"),
        _row(P1, "S2", "2023-03-10", "", "", 1000, NAN, "not_assessable", lod=NAN),
        _row(P1, "S3", "2023-05-10", "", "", 1000, 0.018, "detected"),
        # P2: hostile ids/gene names, no events
        _row(P2, "SA" + SCRIPT, "2023-02-01", "KRAS" + IMG, "p.G12C", 25245350, 0.01, "detected"),
        _row(P2, "SB", "2023-04-01", "KRAS" + IMG, "p.G12C", 25245350, 0.02, "detected"),
        # P3: no alerts
        _row(P3, "T1", "2023-02-15", "TP53", "p.R273H", 7673802, 0.05, "detected"),
        _row(P3, "T2", "2023-06-15", "TP53", "p.R273H", 7673802, NAN, "not_detected"),
    ]
    return pd.DataFrame(rows)


@pytest.fixture
def alerts() -> pd.DataFrame:
    return pd.DataFrame([
        {"patient": P1, "type": "emergence", "gene": "EGFR", "protein_change": "p.T790M", "chrom": "chr7",
         "pos": 55181378, "ref": "C", "alt": "T", "sample": "S2", "date": "2023-03-10", "vaf": 0.004,
         "alt_reads": 20, "depth": 5000, "p_value": 1e-9, "resistance_to": "gefitinib",
         "therapy": "gefitinib", "progression_date": "2023-06-01", "lead_time_days": 83,
         "kb_id": "CIViC:EID123", "evidence": "PMID:22722843;CIViC:EID123"},
        {"patient": P2, "type": "rising", "gene": "KRAS" + IMG, "protein_change": "p.G12C", "chrom": "chr12",
         "pos": 25245350, "ref": "C", "alt": "A", "sample": "SB", "date": "2023-04-01", "vaf": 0.02,
         "alt_reads": 100, "depth": 5000, "p_value": 2e-5, "resistance_to": SCRIPT,
         "therapy": "", "progression_date": "", "lead_time_days": NAN,
         "kb_id": "", "evidence": "PMID:1" + IMG},
    ])


@pytest.fixture
def events() -> pd.DataFrame:
    return pd.DataFrame([
        {"patient": P1, "date": "2023-01-05", "event": "therapy_start", "value": "gefitinib"},
        {"patient": P1, "date": "2023-06-01", "event": "scan", "value": "PD"},
        {"patient": P1, "date": "2023-06-05", "event": "therapy_end", "value": "gefitinib"},
        {"patient": P1, "date": "2023-06-10", "event": "therapy_start", "value": "osimertinib" + SCRIPT},
        {"patient": P3, "date": "2023-03-01", "event": "scan", "value": "SD"},
    ])


@pytest.fixture
def meta() -> dict:
    return {"workflow_version": "0.1.0", "run_date": "2024-01-02", "genome_build": "GRCh38",
            "knowledgebase_version": "civic-2024-01", "config": {"min_depth": 100, "note": IMG}}


@pytest.fixture
def report(timeline, alerts, events, meta) -> str:
    return render_report(timeline, alerts, events, meta)


def _without_script_bodies(doc: str) -> str:
    """The document with the contents of every <script> removed (tags kept)."""
    return re.sub(r"(<script\b[^>]*>).*?(</script>)", r"\1\2", doc, flags=re.S | re.I)


def test_plotlyjs_embedded_exactly_once(report):
    marker = plotly.offline.get_plotlyjs()[:500]  # licence header + start of the bundle
    assert report.count(marker) == 1
    assert report.count("<script>") == 1 + 3  # bundle + one figure per patient
    assert report.count("Plotly.newPlot(") >= 3


def test_no_remote_resources(report):
    outside_scripts = _without_script_bodies(report)
    for tag in re.finditer(r"<(script|link|img|iframe|source|video|audio|embed|object)\b[^>]*>",
                           outside_scripts, flags=re.I):
        assert not re.search(r"(src|href|data)\s*=\s*[\"']?\s*(https?:)?//", tag.group(0), re.I), tag.group(0)
    assert "<link" not in outside_scripts.lower()
    assert "@import" not in outside_scripts and "url(" not in outside_scripts
    # the only absolute URLs outside scripts are the evidence links
    for url in re.findall(r"""(?:src|href)\s*=\s*["']?(https?://[^"'\s>]+)""", outside_scripts, re.I):
        assert url.startswith(("https://pubmed.ncbi.nlm.nih.gov/", "https://civicdb.org/links/evidence_items/")), url
    assert 'http-equiv="Content-Security-Policy"' in report


def test_hostile_strings_are_escaped(report):
    for raw in HOSTILE:
        assert raw not in report
        assert html.escape(raw) in report
    # the escaped form also reaches the figure JSON (plotly renders a subset of HTML in labels)
    assert html.escape("KRAS" + IMG) in report
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", report, flags=re.S | re.I)
    assert len(scripts) == 4  # no value closed a script early or opened a new one
    assert "<img" not in _without_script_bodies(report).lower()


def test_notice_title_and_provenance(report):
    assert "<h1>ctdna-monitor report</h1>" in report
    assert NOTICE in report
    assert "Research use only" in report.split("<h1>", 1)[1][:400]  # right under the title
    for value in ("0.1.0", "GRCh38", "civic-2024-01", "2024-01-02"):
        assert value in report
    assert "<details>" in report and "&quot;min_depth&quot;: 100" in report


def test_each_patient_has_a_section(report):
    for pid in (P1, P2, P3):
        anchor = patient_anchor(pid)
        assert re.fullmatch(r"patient-[A-Za-z0-9_-]+", anchor)
        assert f'<section class="patient" id="{anchor}">' in report
        assert f'id="{anchor}-plot"' in report
    assert patient_anchor("a b") != patient_anchor("a_b")  # the hash keeps sanitised ids distinct


def test_cohort_summary(report):
    summary = report[report.index('id="summary"'):report.index('id="alerts"')]
    assert "<dt>Patients</dt><dd>3</dd>" in summary
    assert "<dt>Draws</dt><dd>7</dd>" in summary
    assert "<dt>Variants tracked</dt><dd>4</dd>" in summary
    assert "emergence: 1" in summary and "rising: 1" in summary
    assert "Knowledge-base hits</dt><dd>1 " in summary
    assert "median 83 days (range 83–83; n=1)" in summary  # the alert without a lead time is skipped


def test_alert_table(report):
    table = report[report.index('id="alerts"'):report.index("<nav>")]
    assert f'<a href="#{patient_anchor(P1)}">{P1}</a>' in table
    assert '<td class="num">83</td>' in table  # lead time
    assert '<td class="num">0.40%</td>' in table  # VAF 0.004
    assert '<td class="num">20/5000</td>' in table
    assert "2023-06-01" in table  # progression date
    assert '<a href="https://pubmed.ncbi.nlm.nih.gov/22722843/"' in table
    assert '<a href="https://civicdb.org/links/evidence_items/123"' in table
    assert "Lead time (days)" in table


def _figures(doc: str) -> dict[str, dict]:
    """Figure JSON of every patient plot, keyed by the target div id."""
    figures = {}
    for body in re.findall(r"<script>(.*?)</script>", doc, flags=re.S):
        if match := re.fullmatch(r'\(function\(\)\{var f=(\{.*\});Plotly\.newPlot\("([^"]+)".*', body, flags=re.S):
            figures[match.group(2)] = json.loads(match.group(1))
    return figures


def test_figure_content(report):
    figures = _figures(report)
    assert len(figures) == 3
    fig = figures[patient_anchor(P1) + "-plot"]
    names = [trace["name"] for trace in fig["data"]]
    assert names[0] == "★ EGFR p.T790M"  # KB hit first and highlighted
    assert fig["data"][0]["line"]["width"] > fig["data"][2]["line"]["width"]
    assert "chr7:1000 C&gt;T" in names  # label fallback without a gene (escaped: plotly reads HTML)
    assert {"not assessable", "alert"} <= set(names)
    not_detected = fig["data"][1]  # the KB hit's undetected draws: open markers at the LoD, no line
    assert not_detected["mode"] == "markers" and not_detected["marker"]["symbol"] == "circle-open"
    assert not_detected["y"][0] == pytest.approx(0.001)
    assert "not detected (LoD 0.10%)" in not_detected["hovertext"][0]
    assert fig["layout"]["yaxis"]["type"] == "log"
    texts = [a["text"] for a in fig["layout"]["annotations"]]
    assert "<b>PD</b>" in texts and "gefitinib" in texts and "emergence" in texts
    assert html.escape("osimertinib" + SCRIPT) in texts
    shape_types = [s["type"] for s in fig["layout"]["shapes"]]
    assert shape_types.count("rect") == 2 and shape_types.count("line") == 1  # therapies, PD scan
    no_events = figures[patient_anchor(P2) + "-plot"]
    assert not no_events["layout"].get("shapes")


def test_variant_table_cells(report):
    p1 = report[report.index(f'id="{patient_anchor(P1)}"'):]
    p1 = p1[:p1.index("</section>")]
    assert '<td class="num">ND</td>' in p1
    assert '<td class="num">NA</td>' in p1
    assert '<td class="num">3.10%</td>' in p1


def test_empty_alerts_and_events(timeline, meta):
    for events in (pd.DataFrame(), pd.DataFrame(columns=["patient", "date", "event", "value"])):
        doc = render_report(timeline, pd.DataFrame(), events, meta)
        assert "<p>No alerts</p>" in doc
        assert doc.count("Plotly.newPlot(") == 3
        assert "n/a (no alert has a lead time)" in doc


def test_everything_empty():
    doc = render_report(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), {})
    assert NOTICE in doc and "No alerts" in doc and "No patients" in doc
    assert doc.count(plotly.offline.get_plotlyjs()[:500]) == 1


def test_evidence_links():
    out = evidence_html("PMID:22722843; CIViC:EID7;ClinVar:<b>x</b>")
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/22722843/"' in out
    assert 'href="https://civicdb.org/links/evidence_items/7"' in out
    assert "&lt;b&gt;x&lt;/b&gt;" in out and "<b>" not in out
    assert evidence_html(np.nan) == ""
