"""One function per workflow stage: file paths in, tables out. The Snakemake scripts call these."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from . import partition
from .alerts import AlertParams, call_alerts
from .background import BackgroundModel, BackgroundParams
from .cancer_types import CancerTypes
from .errors import InputError
from .filters import FilterPolicy
from .genotype import GenotypeParams, genotype_sites, site_windows
from .ingest import ingest_draw
from .inputs import (
    cancer_types_of,
    empty_events,
    load_events,
    load_samples,
    unknown_therapies,
)
from .knowledgebase import DrugTable, KnowledgeBase
from .response import molecular_response
from .runner import write_tsv
from .stats import DetectionParams
from .timeline import (
    DEFAULT_CHIP_GENES,
    CohortSites,
    build_timeline,
    negatives_summary,
    observations,
    shows_allele,
    with_bam_counts,
)
from .variants import canonical_chrom

log = logging.getLogger("ctdna_monitor")
GENOTYPE_COLUMNS = ["chrom", "pos", "ref", "alt", "alt_reads", "depth", "vaf", "alt_forward", "alt_reverse", "ref_forward", "ref_reverse"]
# Text columns as Python objects, not pandas' string dtype: the timeline and the background walk these
# columns value by value (site tuples, dictionary keys), and a string array hands out each value through
# a Python-level __getitem__ (tens of millions of calls at 10,000 draws); an object array does not.
CALL_DTYPES = dict.fromkeys(("chrom", "ref", "alt", "gene", "protein_change", "filter", "dialect", "flag"), object)


def tracked_sites(calls: pd.DataFrame, kb: KnowledgeBase, build: str, drugs: DrugTable, drugs_taken) -> list[tuple]:
    """Sites to re-genotype for a patient: every allele its VCFs showed, plus the knowledge-base
    sites (with coordinates in `build`) relevant to its drugs, or all of them without therapy records."""
    shown = calls[shows_allele(calls)]
    sites = set(zip(shown.chrom, shown.pos.astype(int), shown.ref, shown.alt))
    for kb_id, entry in kb.entries.items():
        if build in entry.coords and (not drugs_taken or kb.is_relevant(kb_id, drugs_taken, drugs)):
            sites.add(entry.coords[build])
    return sorted(sites)


def genotype_step(draws, calls_path, kb_path, drugs_path, events_path, samples_path, build, params: dict, reference=""):
    """Counts at the patient's tracked sites in each draw's BAM/CRAM; `draws` lists (sample, bam)."""
    calls = read_call_table(calls_path)
    drugs = DrugTable(drugs_path)
    samples = load_samples(samples_path)
    events = load_events(events_path, samples["patient"], drugs) if events_path else empty_events()
    patient = samples.loc[draws[0][0], "patient"]
    calls = calls[calls["sample"].map(samples["patient"]) == patient]  # the batch file holds other patients too
    taken = sorted(set(events.loc[(events.patient == patient) & (events.event == "therapy_start"), "value"]))
    sites = tracked_sites(calls, KnowledgeBase(kb_path), build, drugs, taken)
    genotype_params = GenotypeParams(**params)
    rows = []
    windows = site_windows(sites, reference) if reference else {}
    for sample, bam in draws:
        for row in genotype_sites(bam, sites, genotype_params, reference or None, build, windows):
            rows.append({"sample": sample, **row})
    log.info("%s: %d sites in %d BAM/CRAM files", patient, len(sites), len(draws))
    return pd.DataFrame(rows, columns=["sample", *GENOTYPE_COLUMNS])


def read_call_table(path) -> pd.DataFrame:
    return pd.read_csv(
        path, sep="\t", dtype={"sample": object, **CALL_DTYPES}, keep_default_na=False,
        na_values={"alt_reads": [""], "depth": [""], "vaf": [""]},
    )  # fmt: skip


def load_background_table(path) -> pd.DataFrame | None:
    """A panel-of-normals table: chrom, pos, ref, alt, error_rate[, dispersion][, sample]; a row with a
    sample gives that draw's own error at the site (a validation oracle knows it per draw)."""
    if not path:
        return None
    try:
        table = pd.read_csv(path, sep="\t", comment="#", dtype={"chrom": str, "ref": str, "alt": str, "sample": str})
    except (OSError, pd.errors.ParserError) as exc:
        raise InputError(path, f"cannot read the background table ({exc})") from None
    missing = [c for c in ("chrom", "pos", "ref", "alt", "error_rate") if c not in table.columns]
    if missing:
        raise InputError(path, f"missing column(s): {', '.join(missing)}", hint="chrom pos ref alt error_rate [dispersion] [sample]")
    for column in ("pos", "error_rate", *(["dispersion"] if "dispersion" in table else [])):
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna() | (values < 0) | ((values >= 1) & (column != "pos"))
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0]) + 1
            raise InputError(path, f"'{table[column].iloc[row - 1]}' is not a valid {column}", row=row, column=column)
        table[column] = values
    table["chrom"] = table["chrom"].map(canonical_chrom)
    table["ref"], table["alt"] = table["ref"].str.upper(), table["alt"].str.upper()
    return table


def normal_observations(vcfs) -> pd.DataFrame | None:
    """Counts of normal-plasma VCFs (each one a separate 'patient' of the panel of normals)."""
    if not vcfs:
        return None
    frames = []
    for vcf in vcfs:
        frames.append(ingest_draw(vcf, "", None).assign(patient=f"normal:{vcf}", sample=f"normal:{vcf}"))
    return pd.concat(frames, ignore_index=True)


def background_params(config: dict) -> BackgroundParams:
    keys = ("default_error", "min_error", "max_error", "max_indel_error", "default_dispersion", "max_dispersion",
            "prior_depth", "carrier_p", "recurrent_min_patients")
    return BackgroundParams(**{k: config[k] for k in keys if k in config})


# Records (calls) per part of patients in timeline_files: bounds the memory of one part's timeline (about
# 0.5 GB at 150,000 records) and gives a 10,000-draw cohort (580,000 records) four parts for two cores.
PART_CALL_ROWS = 150_000
PARTS_PREFIX = ".timeline-parts-"  # the parts' temporary folder, beside the timeline


def timeline_files(
    samples_path, call_paths, kb_path, build, detection: dict, background: dict, chip_genes=None, genotype_paths=(),
    negatives: dict | None = None, filters: dict | None = None, outputs=(), workers: int = 1,
    part_rows: int = PART_CALL_ROWS,
) -> None:
    """The cohort's timeline, fitted background and per-draw summary of the negative sites not listed, written to
    `outputs` (their three paths); BAM counts fill the sites a VCF is silent about; `negatives`, `filters`: the
    config's sections. After the background fit the patients are done in parts of about `part_rows` records, by
    `workers` processes side by side (partition.py); the parts follow from the inputs alone, so the files do not
    depend on `workers`."""
    inputs = _timeline_inputs(samples_path, call_paths, kb_path, build, detection, background, chip_genes,
                              genotype_paths, negatives, filters)  # fmt: skip
    timeline_path, background_path, negatives_path = outputs
    draws, calls = inputs.samples, inputs.calls
    patients = sorted(set(draws["patient"]))
    patient_of_row = calls["sample"].map(draws.set_index("sample")["patient"])
    rows = patient_of_row.value_counts().reindex(patients, fill_value=0).to_numpy()
    parts = partition.patient_parts(patients, rows, part_rows)
    # What every part needs of the whole cohort (which negatives to list), worked out once.
    cohort = CohortSites.of_cohort(draws, calls, inputs.model, inputs.detection, inputs.negatives)
    part_of_patient = {patient: number for number, members in enumerate(parts) for patient in members}
    part_of_row = patient_of_row.map(part_of_patient).fillna(-1).to_numpy(dtype=np.int64)
    order = np.argsort(part_of_row, kind="stable")  # each part's records in table order
    ends = np.searchsorted(part_of_row[order], np.arange(len(parts) + 1), side="left")
    results = Path(timeline_path).parent
    for stale in results.glob(f"{PARTS_PREFIX}*"):  # left by a run that was killed (Snakemake's lock: one at a time)
        shutil.rmtree(stale, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix=PARTS_PREFIX, dir=results) as folder:
        partition.shared.update(inputs=inputs, cohort=cohort, parts=parts, folder=Path(folder), rows=order, ends=ends)
        try:
            done = partition.map_parts(_write_part, list(range(len(parts))), workers)
        finally:
            partition.shared.clear()
        partition.join_parts([part["timeline"] for part in done], timeline_path)
        partition.join_parts([part["negatives"] for part in done], negatives_path)
    write_tsv(inputs.model.to_frame(set().union(*(part["sites"] for part in done))), background_path)
    _log_timeline(sum(part["rows"] for part in done), sum(part["patients"] for part in done), inputs.kb,
                  sum(part["summarised"] for part in done))  # fmt: skip


class TimelineInputs(NamedTuple):
    samples: pd.DataFrame
    calls: pd.DataFrame
    kb: KnowledgeBase
    build: str
    detection: DetectionParams
    model: BackgroundModel
    chip_genes: tuple
    negatives: str
    filters: FilterPolicy


def _timeline_inputs(samples_path, call_paths, kb_path, build, detection, background, chip_genes, genotype_paths,
                     negatives, filters) -> TimelineInputs:  # fmt: skip
    """The sample sheet, every draw's calls (BAM counts filling the sites a VCF is silent about) and the
    background fitted on them."""
    samples = load_samples(samples_path).reset_index(drop=True)
    tables = pd.concat([read_call_table(path) for path in call_paths], ignore_index=True)
    bam = [pd.read_csv(p, sep="\t", dtype={"chrom": str, "ref": str, "alt": str, "sample": str}) for p in genotype_paths]
    bam_counts = pd.concat(bam, ignore_index=True) if bam else None
    # One table of every draw's calls (stacked_calls), BAM counts filling the sites a VCF is silent about.
    calls = with_bam_counts(tables, bam_counts)
    model = BackgroundModel(
        background_params(background), observations(samples, calls, bam_counts),
        table=load_background_table(background.get("table")), normals=normal_observations(background.get("normals")),
    )  # fmt: skip
    return TimelineInputs(samples, calls, KnowledgeBase(kb_path), build, DetectionParams(**detection), model,
                          tuple(chip_genes or DEFAULT_CHIP_GENES), (negatives or {}).get("list_sites", "informative"),
                          FilterPolicy.from_config(filters))  # fmt: skip


def _timeline_part(inputs: TimelineInputs, draws: pd.DataFrame, cohort=None):
    """(timeline, negatives summary) of the patients of `draws`; `cohort`: the cohort's CohortSites when
    `draws` are those of some of its patients."""
    timeline = build_timeline(draws, inputs.calls, inputs.kb, inputs.build, inputs.detection, inputs.model,
                              inputs.chip_genes, inputs.negatives, inputs.filters, cohort)  # fmt: skip
    return timeline, negatives_summary(draws, inputs.calls, timeline, inputs.model, inputs.detection)


def _write_part(number: int) -> dict:
    """In a worker: part `number`'s timeline and negatives written as TSV parts; their paths and counts."""
    shared = partition.shared
    inputs, patients = shared["inputs"], shared["parts"][number]
    draws = inputs.samples[inputs.samples["patient"].isin(patients)].reset_index(drop=True)
    rows = shared["rows"][shared["ends"][number] : shared["ends"][number + 1]]
    timeline, summary = _timeline_part(inputs._replace(calls=inputs.calls.iloc[rows]), draws, shared["cohort"])
    paths = {name: shared["folder"] / f"{name}.{number:05d}.tsv" for name in ("timeline", "negatives")}
    write_tsv(timeline, paths["timeline"])
    write_tsv(summary, paths["negatives"])
    return {**paths, "rows": len(timeline), "patients": timeline["patient"].nunique(),
            "sites": set(zip(timeline.chrom, timeline.pos, timeline.ref, timeline.alt)),
            "summarised": int(summary["summarised_sites"].sum())}  # fmt: skip


def _log_timeline(rows: int, patients: int, kb, summarised: int) -> None:
    log.info("timeline: %d rows, %d patients, knowledge base %s", rows, patients, kb.version)
    log.info("negative sites summarised per draw, not listed: %d records", summarised)


# The timeline columns the alert rules and the molecular response read (the rest is not loaded there).
ALERT_INPUT_COLUMNS = (
    "patient", "sample", "date", "chrom", "pos", "ref", "alt", "gene", "protein_change", "alt_reads", "depth", "vaf",
    "status", "p_value", "kb_id", "filter", "guard", "error_rate", "dispersion",
)  # fmt: skip


def read_timeline(path, columns=None, chunksize=None) -> pd.DataFrame:
    """results/timeline.tsv, typed; `columns`: only these (a 100,000-draw timeline is 7.8 million rows); with
    `chunksize`, an iterator of DataFrames of that many rows."""
    text = ("patient", "sample", "date", "chrom", "ref", "alt", "gene", "protein_change", "status", "kb_id", "filter",
            "dialect", "flag", "source", "guard", "background_source", "background_flag")  # fmt: skip
    numbers = ("alt_reads", "depth", "vaf", "p_value", "lod", "pos", "error_rate", "dispersion")
    return pd.read_csv(
        path, sep="\t", dtype=dict.fromkeys(text, str), keep_default_na=False, na_values={c: [""] for c in numbers},
        usecols=None if columns is None else list(columns), chunksize=chunksize,
    )  # fmt: skip


def log_unknown_therapies(events: pd.DataFrame, drugs: DrugTable) -> None:
    """One log line per therapy name the drug table does not know, with the patients naming it."""
    for name, patients in unknown_therapies(events, drugs).items():
        log.warning("therapy '%s' is not in the drug table %s: kept as written, it raises no resistance alert "
                    "(patients: %s)", name, drugs.path, ", ".join(patients))  # fmt: skip


def alerts_step(timeline_path, samples_path, events_path, kb_path, drugs_path, detection: dict, alerts: dict,
                cancer_types_path="", filters: dict | None = None):  # fmt: skip
    """(alerts, molecular response) of the cohort; `cancer_types_path`: the OncoTree table, which lets
    a patient's `cancer_type` rule out evidence for other cancers when its therapy is unknown; `filters`:
    the config's `filters` section (FILTER values that block or hold back an alert)."""
    drugs = DrugTable(drugs_path)
    detection_params = DetectionParams(**detection)
    params = AlertParams(alpha=detection_params.alpha, filters=FilterPolicy.from_config(filters), **alerts)
    timeline = read_timeline(timeline_path, ALERT_INPUT_COLUMNS)
    cancer_types = CancerTypes(cancer_types_path) if cancer_types_path else None
    samples = load_samples(samples_path, cancer_types)
    events = load_events(events_path, samples["patient"], drugs) if events_path else empty_events()
    log_unknown_therapies(events, drugs)
    table = call_alerts(timeline, events, KnowledgeBase(kb_path), drugs, params, cancer_types, cancer_types_of(samples))
    log.info("alerts: %d (%s)", len(table), table["type"].value_counts().to_dict())
    return table, molecular_response(timeline, table, detection_params.alpha)
