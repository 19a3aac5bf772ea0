"""Monitoring, for real: Snakemake runs a cohort growing draw by draw; each run's results/alert_changes.tsv and the
notifications received by a real SMTP server (aiosmtpd) and a real HTTP server on 127.0.0.1 are checked."""

import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import yaml
from notify_servers import free_port, http_server, smtp_server
from test_workflow import copy_project

PATIENTS = ("DEMO-P01", "DEMO-P04", "DEMO-P05")  # VCF-only demo patients: fast runs


class Cohort:
    """The demo cohort's draws up to a date, written as the sheet and events the workflow reads."""

    def __init__(self, workdir):
        self.workdir = workdir
        demo = workdir / "resources" / "demo"
        self.sheet = (demo / "samples.tsv").read_text().splitlines()
        self.events = (demo / "events.tsv").read_text().splitlines()
        self.vcf_dir = demo / "vcf"

    def write(self, until, drop=(), pd_scan=False, extra=()):
        rows = [self.sheet[0]]
        for line in self.sheet[1:]:
            patient, sample, date, vcf, *rest = line.split("\t")
            if patient in PATIENTS and date <= until and sample not in drop:
                rows.append("\t".join([patient, sample, date, f"resources/demo/{vcf}", *rest]))  # relative to the sheet
        rows.extend("\t".join(row) for row in extra)
        (self.workdir / "samples.tsv").write_text("\n".join(rows) + "\n")
        # the clinic exports its events whole, ahead of the draws (DEMO-P06 has none yet); P01's PD scan comes late
        events = [self.events[0]] + [
            line for line in self.events[1:]
            if line.split("\t")[0] in (*PATIENTS, "DEMO-P06") and (pd_scan or not line.startswith("DEMO-P01\t2025-08-25"))
        ]  # fmt: skip
        (self.workdir / "events.tsv").write_text("\n".join(events) + "\n")


def run(workdir, *extra):
    command = [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "monitor.yaml", *extra]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HOOK_SECRET": "hook-s3cret"}
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, env=env, timeout=600)


def changes(workdir) -> set:
    table = pd.read_csv(workdir / "results" / "alert_changes.tsv", sep="\t", dtype=str, keep_default_na=False)
    return {(r.change, r.patient, r.type, r.draw_date) for r in table.itertuples()}


def details(workdir) -> dict:
    table = pd.read_csv(workdir / "results" / "alert_changes.tsv", sep="\t", dtype=str, keep_default_na=False)
    return {(r.change, r.patient, r.type, r.draw_date): r.detail for r in table.itertuples()}


def mailed(mailbox, since=0) -> list[set]:
    """The changes of each e-mail received (from the body lines), with its Message-ID."""
    out = []
    for entry in mailbox.messages[since:]:
        body = entry["message"].get_content()
        out.append((entry["message"]["X-Ctdna-Monitor-Id"], {line.split(":")[0].strip("- ").lower() + ":" + line.split(":", 1)[1].split(",")[0]
                                                             for line in body.splitlines() if line.startswith("- ")}))  # fmt: skip
    return out


def posted(posts, since=0) -> list[tuple]:
    return [(p["json"]["message_id"], p["json"]["kind"], {(c["change"], c["patient"], c["type"], c["draw_date"]) for c in p["json"]["changes"]})
            for p in posts[since:]]  # fmt: skip


def test_growing_cohort_changes_and_notifications(root, tmp_path):
    (tmp_path / "project").mkdir()
    workdir = copy_project(root, tmp_path / "project")
    cohort = Cohort(workdir)
    smtp_port, http_port = free_port(), free_port()
    settings = {
        "samples": "samples.tsv", "events": "events.tsv", "state_dir": str(tmp_path / "state"),
        "notify": {
            "smtp": {"enabled": True, "host": "127.0.0.1", "port": smtp_port, "starttls": False,
                     "sender": "ctdna@lab.example", "recipients": ["oncall@lab.example"], "timeout_seconds": 5},
            "webhook": {"enabled": True, "url": f"http://127.0.0.1:{http_port}/ctdna", "secret_env": "HOOK_SECRET"},
        },
    }  # fmt: skip
    (workdir / "monitor.yaml").write_text(yaml.safe_dump(settings))
    with http_server(http_port) as posts:
        # 1. first run: every alert is new; the events of DEMO-P06 (no draw yet) are a note, not an error
        cohort.write("2025-03-31")
        with smtp_server(smtp_port) as mailbox:
            result = run(workdir)
        assert result.returncode == 0, result.stderr[-3000:]
        assert "events of 1 patient(s) without a draw in the sample sheet are not used until a draw of theirs arrives: DEMO-P06" in result.stderr
        first = {("new", "DEMO-P04", "pre_existing", "2025-01-20"), ("new", "DEMO-P04", "rising", "2025-02-17"),
                 ("new", "DEMO-P04", "rising", "2025-03-17")}  # fmt: skip
        assert changes(workdir) == first
        assert [kind for _, kind, _ in posted(posts)] == ["alert_changes"] and posted(posts)[0][2] == first
        assert len(mailbox.messages) == 1
        assert mailbox.messages[0]["message"]["Message-ID"] == f"<{posts[0]['json']['message_id']}@ctdna-monitor>"
        assert posts[0]["headers"]["X-Ctdna-Monitor-Secret"] == "hook-s3cret"
        report = (workdir / "results" / "report.html").read_text()
        assert "the alert history starts with this run" in report
        assert report.index('id="changes"') < report.index('id="summary"')
        pdfs = workdir / "results" / "patients" / "changed-pdf"
        assert not list(pdfs.glob("*.pdf"))  # the start of a history: no PDF
        assert "Research use only" in (workdir / "results" / "patients" / "DEMO-P04.html").read_text()

        # 2. two more months of draws: P01's T790M emerges. The mail server is down: the run still succeeds.
        cohort.write("2025-05-10")
        result = run(workdir)
        assert result.returncode == 0, result.stderr[-3000:]
        assert changes(workdir) == {("new", "DEMO-P01", "emergence", "2025-05-09")}
        down = pd.read_csv(workdir / "results" / "notifications.tsv", sep="\t", dtype=str, keep_default_na=False)
        assert set(zip(down.channel, down.status)) == {("smtp", "failed"), ("webhook", "delivered")}
        held = posts[1]["json"]["message_id"]
        assert posted(posts, 1)[0][2] == {("new", "DEMO-P01", "emergence", "2025-05-09")}
        report = (workdir / "results" / "report.html").read_text()
        assert "Changes since the previous run (20" in report and "1 new" in report
        if shutil.which("chromium"):
            assert sorted(p.name for p in pdfs.glob("*.pdf")) == ["DEMO-P01.pdf"]  # the patient with a change

        # 3. the mail server is back: the held e-mail goes out (same Message-ID), then this run's changes
        cohort.write("2025-06-20")
        with smtp_server(smtp_port) as mailbox:
            result = run(workdir)
        assert result.returncode == 0, result.stderr[-3000:]
        third = {("new", "DEMO-P01", "molecular_progression", "2025-06-13"), ("updated", "DEMO-P01", "rising", "2025-06-13"),
                 ("new", "DEMO-P05", "emergence", "2025-05-19")}  # fmt: skip
        assert changes(workdir) == third
        assert details(workdir)[("updated", "DEMO-P01", "rising", "2025-06-13")].startswith("rising again")
        ids = [entry["message"]["X-Ctdna-Monitor-Id"] for entry in mailbox.messages]
        assert held in ids and len(ids) == 2 and posted(posts, 2)[0][2] == third

        # 4. the PD scan arrives in the events table: the lead times are now known
        cohort.write("2025-06-20", pd_scan=True)
        with smtp_server(smtp_port) as mailbox:
            result = run(workdir)
        assert result.returncode == 0, result.stderr[-3000:]
        fourth = {("updated", "DEMO-P01", kind, day) for kind, day in
                  (("emergence", "2025-05-09"), ("molecular_progression", "2025-06-13"), ("rising", "2025-06-13"))}  # fmt: skip
        assert changes(workdir) == fourth
        assert all(detail.startswith("lead time now known") for detail in details(workdir).values())
        assert len(mailbox.messages) == 1 and posted(posts, 3)[0][2] == fourth

        # 5. P04's first draw is withdrawn from the sheet (a sample swap): its alerts move to the next draw
        cohort.write("2025-06-20", drop=("DEMO-P04-D1",), pd_scan=True)
        with smtp_server(smtp_port) as mailbox:
            result = run(workdir)
        assert result.returncode == 0, result.stderr[-3000:]
        fifth = details(workdir)
        assert set(fifth) == {("withdrawn", "DEMO-P04", "pre_existing", "2025-01-20"), ("new", "DEMO-P04", "pre_existing", "2025-02-17"),
                              ("withdrawn", "DEMO-P04", "rising", "2025-02-17")}  # fmt: skip
        assert fifth[("withdrawn", "DEMO-P04", "pre_existing", "2025-01-20")] == (
            "the draw of 2025-01-20 is no longer in the sample sheet (removed or quarantined)")
        assert fifth[("withdrawn", "DEMO-P04", "rising", "2025-02-17")].startswith("this draw now raises a pre_existing alert")
        assert len(mailbox.messages) == 1 and "WITHDRAWN: patient DEMO-P04" in mailbox.messages[0]["message"].get_content()
        assert len(posts) == 5

        # 6. the same inputs again: nothing runs, nothing is sent
        result = run(workdir)
        assert result.returncode == 0 and "Nothing to be done" in result.stdout + result.stderr
        assert len(posts) == 5 and set(fifth) == set(details(workdir))

        # 7. a draw whose VCF is missing, in monitoring mode: quarantined and announced, no alert change
        missing = ("DEMO-P05", "DEMO-P05-D9", "2025-06-19", str(tmp_path / "missing.vcf"), "", "", "GIST")
        cohort.write("2025-06-20", drop=("DEMO-P04-D1",), pd_scan=True, extra=[missing])
        result = run(workdir, "--config", "quarantine_bad_draws=true")
        assert result.returncode == 3, result.stderr[-3000:]
        assert changes(workdir) == set()
        assert [kind for _, kind, _ in posted(posts, 5)] == ["quarantine"]
        assert "DEMO-P05" in " ".join(posts[5]["json"]["lines"]) and "missing.vcf" not in str(posts[5]["json"])

        # 8. a draw whose VCF breaks while it is read: the run fails and that is announced
        good = (cohort.vcf_dir / "DEMO-P01-D7.vcf").read_text().splitlines()
        broken = tmp_path / "DEMO-P01-D7.vcf"
        first = next(i for i, line in enumerate(good) if not line.startswith("#"))
        chrom, _, rest = good[first].split("\t", 2)
        good[first] = f"{chrom}\tnot-a-position\t{rest}"  # the first record: the pre-flight check reads the last
        broken.write_text("\n".join(good) + "\n")
        bad = ("DEMO-P01", "DEMO-P01-D7", "2025-07-11", str(broken), "", "", "LUAD")
        cohort.write("2025-06-20", drop=("DEMO-P04-D1",), pd_scan=True, extra=[bad])
        result = run(workdir)
        assert result.returncode == 1
        failed = [p for p in posts[6:] if p["json"]["kind"] == "run_failed"]
        assert len(failed) == 1, result.stderr[-2000:]
        assert str(broken) not in json.dumps(failed[0]["json"])  # the job's message names the file: not sent
        assert "DEMO-P01-D7" not in json.dumps(failed[0]["json"])
