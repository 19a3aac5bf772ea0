"""Alert history (ctdna_monitor.history): stable ids, new / withdrawn / updated, the state folder."""

import json

import pandas as pd
import pytest

from ctdna_monitor import history
from ctdna_monitor.errors import InputError


def alert(patient="P1", kind="emergence", sample="P1-D2", date="2025-02-01", kb_id="EGFR_T790M", confirmed="True",
          lead="", progression="", therapy="erlotinib", vaf="0.01"):
    return {"patient": patient, "type": kind, "gene": "EGFR", "protein_change": "T790M", "chrom": "chr7", "pos": "55181378",
            "ref": "C", "alt": "T", "sample": sample, "date": date, "vaf": vaf, "therapy": therapy, "kb_id": kb_id,
            "confirmed": confirmed, "progression_date": progression, "lead_time_days": lead}  # fmt: skip


def frame(*alerts):
    return pd.DataFrame(list(alerts))


def timeline_row(patient="P1", sample="P1-D2", date="2025-02-01", status="detected", p_value=1e-9):
    return {"patient": patient, "sample": sample, "date": date, "chrom": "chr7", "pos": 55181378, "ref": "C", "alt": "T",
            "kb_id": "EGFR_T790M", "status": status, "p_value": p_value}  # fmt: skip


def test_alert_id_is_stable_and_names_patient_type_variant_draw():
    a = alert()
    assert history.alert_id(a) == history.alert_id(dict(a, vaf="0.5", confirmed="False", lead="30"))
    assert len({history.alert_id(x) for x in (a, alert(patient="P2"), alert(kind="rising"), alert(sample="P1-D3"),
                                              alert(kb_id=""))}) == 5  # fmt: skip
    assert history.variant_key(alert(kb_id="")) == "chr7:55181378:C>T"
    assert history.variant_key(alert(kind="molecular_progression")) == "ctDNA level"


def test_first_run_all_new_and_rerun_no_change():
    now = history.snapshot(frame(alert(), alert(kind="rising", sample="P1-D3", date="2025-03-01")))
    assert {c["change"] for c in history.compare(None, now)} == {"new"}
    assert history.compare(now, now) == []


def test_updated_confirmed_lead_time_therapy_and_rising_again():
    before = history.snapshot(frame(alert(confirmed="False")))
    after = history.snapshot(frame(alert(confirmed="True", lead="40", progression="2025-03-13", therapy="osimertinib"),
                                   alert(kind="rising", sample="P1-D3", date="2025-03-01", vaf="0.04")))  # fmt: skip
    changes = {c["type"]: c for c in history.compare(before, after, base="2026-01-01T00:00:00Z")}
    assert changes["emergence"]["change"] == "updated"
    detail = changes["emergence"]["detail"]
    assert "confirmed" in detail and "lead time now known: 40 days (PD scan 2025-03-13)" in detail and "osimertinib" in detail
    assert changes["rising"]["change"] == "updated" and changes["rising"]["detail"].startswith("rising again")


def test_withdrawn_with_reasons():
    before = history.snapshot(frame(alert(), alert(patient="P2", sample="P2-D1"), alert(patient="P3", sample="P3-D2"),
                                    alert(patient="P4", sample="P4-D2"), alert(patient="P5", sample="P5-D2"),
                                    alert(patient="P6", kind="rising", sample="P6-D2")))  # fmt: skip
    now = history.snapshot(frame(alert(patient="P4", sample="P4-D3", date="2025-03-01"),
                                 alert(patient="P6", kind="pre_existing", sample="P6-D2")))  # fmt: skip
    timeline = pd.DataFrame([
        timeline_row(),  # P1: still detected, below the alert level
        timeline_row("P3", "P3-D9", "2025-09-09"),  # P3's draw of the alert is gone
        timeline_row("P4", "P4-D2"), timeline_row("P4", "P4-D3", "2025-03-01"),
        timeline_row("P5", "P5-D2", status="not_detected", p_value=0.2), timeline_row("P6", "P6-D2"),
    ])  # fmt: skip
    reasons = {c["patient"]: c["detail"] for c in history.compare(before, now, timeline) if c["change"] == "withdrawn"}
    assert "no longer at the alert level" in reasons["P1"]
    assert reasons["P2"].startswith("the patient has no draw in the sample sheet")
    assert reasons["P3"] == "the draw of 2025-02-01 is no longer in the sample sheet (removed or quarantined)"
    assert reasons["P4"] == "the same emergence alert now comes from the draw of 2025-03-01"
    assert "no longer detected" in reasons["P5"] and "not detected" in reasons["P5"]
    assert reasons["P6"].startswith("this draw now raises a pre_existing alert instead")


def test_timeline_read_only_when_an_alert_is_withdrawn():
    now = history.snapshot(frame(alert()))

    def fail():
        raise AssertionError("timeline read without a withdrawal")

    assert history.compare(now, now, fail) == []


def test_track_commit_rerun_and_restart(tmp_path):
    state = tmp_path / "state"
    first, pending = history.track(frame(alert()), None, state)
    assert list(first.change) == ["new"] and pending["restarted"]
    # killed before the commit: the rerun gives the same changes, same ids
    again, _ = history.track(frame(alert()), None, state)
    assert again.equals(first)
    history.commit(state)
    unchanged, pending = history.track(frame(alert()), None, state)
    assert unchanged.empty and not pending["restarted"] and pending["previous_run"]
    history.commit(state)
    later, _ = history.track(frame(alert(), alert(kind="rising", sample="P1-D3", date="2025-03-01")), None, state)
    assert list(later.change) == ["updated"] and later.previous_run.iloc[0] == pending["run_at"]
    assert later.change_id.iloc[0] != first.change_id.iloc[0]


def test_same_results_after_the_commit_give_the_same_changes(tmp_path):
    """A run killed after its commit (or forced again) gives its changes again; other results compare as usual."""
    state = tmp_path / "state"
    history.track(frame(alert()), None, state, digest="run1")
    history.commit(state)
    second = frame(alert(), alert(kind="rising", sample="P1-D3", date="2025-03-01"))
    changes, _ = history.track(second, None, state, digest="run2")
    history.commit(state)
    again, _ = history.track(second, None, state, digest="run2")
    assert again.equals(changes) and list(again.change) == ["updated"]
    assert history.track(second, None, state, digest="run3")[0].empty  # a new draw without alert changes


def test_damaged_state_is_one_line_error(tmp_path):
    (tmp_path / history.COMMITTED).write_text("{not json")
    with pytest.raises(InputError, match="delete the folder"):
        history.track(frame(alert()), None, tmp_path)
    (tmp_path / history.COMMITTED).write_text(json.dumps({"format": 99}))
    with pytest.raises(InputError, match="not an alert history"):
        history.track(frame(alert()), None, tmp_path)
