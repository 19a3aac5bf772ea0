"""Patient pages (report.patient_page): static, escaped, CSP-locked, printable; checked in headless Chromium."""

import base64
import re

import chromium
import numpy as np
import pandas as pd
import pytest

from ctdna_monitor.report.patient_page import PAGE_CSP, kb_status, print_pdf, render_patient_page

IMG = "<img src=x onerror=alert(1)>"
PATIENT = "PT-9" + IMG
META = {"workflow_version": "0.1.0", "knowledgebase_version": "2026.11.1", "genome_build": "GRCh38", "run_date": "2026-11-27"}


def row(sample, date, gene, protein, pos, vaf, status, kb_id="", lod=0.0007, depth=4506):
    alt = int(round((vaf or 0) * depth)) if status == "detected" else 0
    return {"patient": PATIENT, "sample": sample, "date": date, "chrom": "chr7", "pos": pos, "ref": "C", "alt": "T",
            "gene": gene, "protein_change": protein, "alt_reads": alt, "depth": depth, "vaf": vaf if status == "detected" else np.nan,
            "status": status, "p_value": 1e-9 if status == "detected" else 0.5, "lod": lod, "kb_id": kb_id}  # fmt: skip


def page(tmp_path=None):
    dates = ["2025-01-06", "2025-02-07", "2025-03-07", "2025-04-11", "2025-05-09"]
    timeline = []
    for i, day in enumerate(dates):
        timeline.append(row(f"S{i}" + IMG, day, "EGFR", "T790M", 55181378, 0.004 * i, "detected" if i >= 3 else "not_detected", "EGFR_T790M"))
        timeline.append(row(f"S{i}" + IMG, day, "KRAS" + IMG, "G12D", 25245350, 0.05 / (i + 1), "detected"))
    timeline.append(row("S4" + IMG, "2025-05-09", "BRAF", "V600E", 140753336, np.nan, "not_detected", "BRAF_V600E"))
    alerts = [{"patient": PATIENT, "type": "emergence", "gene": "EGFR", "protein_change": "T790M", "date": "2025-04-11",
               "vaf": 0.012, "therapy": "erlotinib", "resistance_to": "gefitinib,erlotinib", "confirmed": "True",
               "lead_time_days": 45, "evidence": "PMID:15728811;CIViC:EID239;" + IMG}]  # fmt: skip
    events = pd.DataFrame([[PATIENT, "2025-01-10", "therapy_start", "Drug" + IMG], [PATIENT, "2025-05-26", "scan", "PD"]],
                          columns=["patient", "date", "event", "value"])  # fmt: skip
    text = render_patient_page(PATIENT, timeline, alerts, events, META, "LUAD" + IMG)
    if tmp_path is not None:
        (tmp_path / "page.html").write_text(text, encoding="utf-8")
    return text


def test_status_texts():
    assert kb_status({"status": "not_detected", "lod": 0.0007, "depth": 4506}) == "not detected, LoD95 0.070 % at 4506 reads"
    assert kb_status({"status": "detected", "vaf": 0.0123, "alt_reads": 40, "depth": 3300}) == "detected, VAF 1.23 % (40/3300 reads)"
    assert kb_status({"status": "not_assessable", "lod": 0.03, "depth": 40}).startswith("not assessable (LoD95 3.0")


def test_page_is_static_escaped_and_complete():
    html = page()
    assert "<script" not in html.lower() and "plotly" not in html.lower()
    assert f'content="{PAGE_CSP}"' in html and "script-src 'none'" in PAGE_CSP
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert html.count("Research use only") == 2
    assert "BRAF V600E" in html and "not detected, LoD95 0.070 % at 4506 reads" in html  # every KB alteration, latest draw
    assert "<svg" in html and "Knowledge base</th><td>2026.11.1" in html and 'href="https://pubmed.ncbi.nlm.nih.gov/15728811/"' in html


@pytest.mark.skipif(not chromium.available(), reason="chromium, chromedriver or selenium missing")
def test_page_in_chromium_and_printed(tmp_path):
    page(tmp_path)
    target = tmp_path / "page.html"
    with chromium.chromium() as driver:
        driver.get("about:blank")
        chromium.requested_urls(driver)
        driver.get(target.as_uri())
        assert driver.title == f"ctdna-monitor: patient {PATIENT}"  # the hostile id is text, not markup
        assert driver.execute_script("return document.images.length") == 0
        assert chromium.console_errors(driver) == []
        assert [url for url in chromium.requested_urls(driver) if url != target.as_uri()] == []
        # printed: A4 (210 mm wide, 14 mm margins), print media; plot and tables fit the page width
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        driver.set_window_size(700, 1000)
        fit = driver.execute_script(
            "const w = document.documentElement.clientWidth, s = document.querySelector('svg').getBoundingClientRect();"
            "return [s.left >= 0 && s.right <= w, s.width > 300, Array.from(document.querySelectorAll('table')).every(t => t.scrollWidth <= w)]")
        assert fit == [True, True, True]
        pdf = base64.b64decode(driver.execute_cdp_cmd("Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69})["data"])
    assert 1 <= len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) <= 3
    printed = tmp_path / "page.pdf"
    print_pdf(target, printed)  # the workflow's way: headless Chromium on the command line
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", printed.read_bytes()))
    assert printed.read_bytes().startswith(b"%PDF") and 1 <= pages <= 3


@pytest.mark.skipif(not chromium.available(), reason="chromium missing")
def test_pdfs_of_changed_patients_only(tmp_path):
    from ctdna_monitor.report.patient_page import print_changed

    page(tmp_path)
    pages = {"P1": str(tmp_path / "page.html"), "P2": str(tmp_path / "page.html"), "P3": str(tmp_path / "page.html")}
    changes = tmp_path / "changes.tsv"
    changes.write_text("change\tpatient\tprevious_run\nnew\tP1\t\nnew\tP2\t\n")
    assert print_changed(changes, pages, tmp_path / "first") == []  # the start of a history: nothing is news
    changes.write_text("change\tpatient\tprevious_run\nnew\tP1\t2026-11-27T10:00:00Z\nwithdrawn\tP3\t2026-11-27T10:00:00Z\n")
    printed = print_changed(changes, pages, tmp_path / "later", limit=1)
    assert printed == [str(tmp_path / "later" / "P1.pdf")] and sorted(p.name for p in (tmp_path / "later").iterdir()) == ["P1.pdf"]


def test_pages_of_patients_who_left_the_sheet_are_removed(tmp_path):
    from ctdna_monitor.report.patient_page import remove_stale_pages

    for name in ("P1.html", "P2.html", "P2.pdf", "P3.html", "notes.txt"):
        (tmp_path / name).write_text("x")
    (tmp_path / "changed-pdf").mkdir()
    assert remove_stale_pages(tmp_path, ["P1", "P3"]) == ["P2.html", "P2.pdf"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["P1.html", "P3.html", "changed-pdf", "notes.txt"]


def test_the_pages_manifest_lists_every_page_and_only_changed_pages_are_rewritten(tmp_path):
    import os

    from ctdna_monitor.errors import InputError
    from ctdna_monitor.report.patient_page import page_of, read_pages_manifest, write_patient_pages

    manifest = tmp_path / "patients" / "pages.tsv"
    assert write_patient_pages({"P1": "<p>one</p>", "P2": "<p>two</p>", "P3": "<p>three</p>"}, manifest) == ["P1", "P2", "P3"]
    old = tmp_path / "patients" / "P1.html"
    os.utime(old, (1_000_000_000, 1_000_000_000))
    # the next run: P2's page changes, P3 left the sheet, P4 is new, P1 is the same
    assert write_patient_pages({"P1": "<p>one</p>", "P2": "<p>two, later</p>", "P4": "<p>four</p>"}, manifest) == ["P2", "P4"]
    assert old.stat().st_mtime == 1_000_000_000  # not rewritten, not touched
    assert sorted(p.name for p in manifest.parent.iterdir()) == ["P1.html", "P2.html", "P4.html", "pages.tsv"]
    rows = pd.read_csv(manifest, sep="\t", dtype=str)
    assert rows.values.tolist() == [["P1", "P1.html", "no"], ["P2", "P2.html", "yes"], ["P4", "P4.html", "yes"]]
    assert read_pages_manifest(manifest)["P2"] == str(manifest.parent / "P2.html")
    assert page_of(manifest, "P4") == str(manifest.parent / "P4.html")
    with pytest.raises(InputError, match="no page for patient 'P3'"):
        page_of(manifest, "P3")


def test_a_page_deleted_by_hand_makes_the_pages_list_go_so_they_are_rendered_again(tmp_path):
    from ctdna_monitor.report.patient_page import forget_incomplete_pages, write_patient_pages

    manifest = tmp_path / "patients" / "pages.tsv"
    assert forget_incomplete_pages(manifest) is False  # no list yet
    write_patient_pages({"P1": "<p>one</p>", "P2": "<p>two</p>"}, manifest)
    assert forget_incomplete_pages(manifest) is False and manifest.is_file()
    (tmp_path / "patients" / "P2.html").unlink()
    assert forget_incomplete_pages(manifest) is True and not manifest.exists()


def test_pages_read_in_chunks_equal_pages_read_whole_in_any_row_order(root, tmp_path):
    """The pages step reads the timeline a chunk of rows at a time (memory follows the chunk, not the
    cohort): a patient split across chunks, a timeline in another order than the patients' (read whole
    then) and a patient of the sheet without any row all give the pages of the whole-table reading."""
    from ctdna_monitor.alerts import ALERT_COLUMNS
    from ctdna_monitor.report.from_files import iter_patient_pages
    from ctdna_monitor.timeline import TIMELINE_COLUMNS

    demo = root / "resources" / "demo"
    sheet = pd.read_csv(demo / "samples.tsv", sep="\t", dtype=str, keep_default_na=False)
    sheet["vcf"] = [str(demo / v) for v in sheet["vcf"]]
    sheet["bam"] = [str(demo / b) if b else "" for b in sheet["bam"]]
    sheet.to_csv(tmp_path / "samples.tsv", sep="\t", index=False)
    rows = []
    for draw in sheet.itertuples():
        if draw.patient == sheet["patient"].iloc[-1]:
            continue  # the sheet's last patient has no timeline row
        for pos, vaf in ((25245350, 0.02), (55181378, 0.004)):
            rows.append({**dict.fromkeys(TIMELINE_COLUMNS, ""), "patient": draw.patient, "sample": draw.sample,
                         "date": draw.date, "chrom": "chr7", "pos": pos, "ref": "C", "alt": "T", "gene": "EGFR",
                         "alt_reads": int(vaf * 3000), "depth": 3000, "vaf": vaf, "status": "detected", "lod": 0.001})  # fmt: skip
    timeline = pd.DataFrame(rows, columns=TIMELINE_COLUMNS)
    pd.DataFrame(columns=ALERT_COLUMNS).to_csv(tmp_path / "alerts.tsv", sep="\t", index=False)
    args = (str(tmp_path / "alerts.tsv"), str(tmp_path / "samples.tsv"), "", str(root / "resources" / "resistance_mutations.tsv"),
            str(root / "resources" / "drugs.tsv"), {}, str(root / "resources" / "oncotree.tsv"))  # fmt: skip

    def pages(table, chunk_rows):
        table.to_csv(tmp_path / "timeline.tsv", sep="\t", index=False)
        return list(iter_patient_pages(str(tmp_path / "timeline.tsv"), *args, chunk_rows=chunk_rows))

    whole = pages(timeline, 10**9)
    assert [p for p, _ in whole] == sorted(set(sheet["patient"])) and len(whole) == sheet["patient"].nunique()
    assert pages(timeline, 3) == whole  # a patient's rows over several chunks
    # patients in descending order (each patient's rows in their order): read whole, the same pages
    backwards = timeline.sort_values("patient", ascending=False, kind="stable")
    assert pages(backwards, 3) == whole
