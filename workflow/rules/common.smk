# Validate the config and the input tables before any job runs, so a bad sheet
# stops the workflow with one clear message and nothing under results/.
import os
import sys
import time

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from ctdna_monitor import batches
from ctdna_monitor.cancer_types import CancerTypes
from ctdna_monitor.errors import CtdnaError
from ctdna_monitor.inputs import load_events, load_samples
from ctdna_monitor.job_errors import config_problem
from ctdna_monitor.knowledgebase import DrugTable, KnowledgeBase
from ctdna_monitor.notify import check_settings
from ctdna_monitor.notify.outbox import pending_ids
from ctdna_monitor.preflight import FactCache, check_draws, report_lines
from ctdna_monitor.quarantine import QUARANTINE_EXIT_STATUS
from ctdna_monitor.report.patient_page import forget_incomplete_pages

try:
    validate(config, "../schemas/config.schema.yaml")
except WorkflowError as error:
    sys.exit(f"ctdna-monitor input error: {config_problem(error)}")

# Facts about the sheet's files, by path, size and modification time: a rerun or a dry run inspects
# only new or changed files (src/ctdna_monitor/preflight.py).
PREFLIGHT_CACHE = ".snakemake/ctdna-monitor/preflight-cache.json"


def _load_inputs():
    try:
        cancer_types = CancerTypes(config["oncotree"])
        samples = load_samples(config["samples"], cancer_types, check_files=False)
        drugs = DrugTable(config["drugs"])
        # every drug and cancer type a knowledge-base row names must be known to the tables
        KnowledgeBase(config["knowledgebase"], drugs, cancer_types)
        if config.get("events"):
            load_events(config["events"], samples["patient"], drugs)
    except CtdnaError as error:
        sys.exit(f"ctdna-monitor input error: {error}")
    # Pre-flight check of every file the sheet names, all problems listed together. Without quarantine
    # any problem stops the run here, before any job; with it, the draws concerned are left out.
    problems = check_draws(
        samples,
        config["genome_build"],
        config.get("reference", ""),
        file_facts,
    )
    quarantine = str(config.get("quarantine_bad_draws", False)).lower() == "true"
    if problems and not quarantine:
        sys.exit("\n".join(report_lines(problems, config["samples"], quarantine=False)))
    if problems:
        print(
            "\n".join(report_lines(problems, config["samples"], quarantine=True)),
            file=sys.stderr,
        )
        samples = samples[~samples["sample"].isin({p.sample for p in problems})]
        if samples.empty:
            sys.exit(
                "ctdna-monitor input error: every draw of the sample sheet is quarantined; nothing to run"
            )
    return samples, problems


file_facts = FactCache(PREFLIGHT_CACHE)
samples, quarantined = _load_inputs()
known_patients = set(samples["patient"])

# The alert history and the notification outbox (workflow/rules/monitor.smk), outside results/.
state_dir = str(config.get("state_dir") or ".ctdna-monitor-state").rstrip("/")

# A patient page deleted by hand: the pages are rendered again (their list, the rule's output, is removed).
forget_incomplete_pages("results/patients/pages.tsv")
try:
    check_settings(config)
except CtdnaError as error:
    sys.exit(f"ctdna-monitor input error: {error}")


def history_presence():
    return "kept" if os.path.exists(f"{state_dir}/alerts.json") else "missing"


def notify_retry_token():
    """'' when the outbox is empty; else a value that differs at every invocation (reruns notify_changes)."""
    waiting = pending_ids(state_dir)
    return f"{len(waiting)} waiting, {time.time_ns()}" if waiting else ""


# With quarantined draws, the jobs read the sheet of the remaining draws (and the events of the remaining
# patients), written by rule checked_inputs (workflow/rules/preflight.smk).
samples_sheet = "results/preflight/samples.tsv" if quarantined else config["samples"]
if quarantined and config.get("events"):
    events_file = ["results/preflight/events.tsv"]
else:
    events_file = [config["events"]] if config.get("events") else []


# The report's form follows the sheet's patient count: one file up to report_single_file_max_patients,
# above it a folder (src/ctdna_monitor/report/folder.py) whose index links to results/patients/.
def report_is_folder():
    return samples.patient.nunique() > int(
        config.get("report_single_file_max_patients", 1000)
    )


def report_target():
    """The report as other rules name it: the file, or the folder report's directory."""
    return "results/report" if report_is_folder() else "results/report.html"


def report_output():
    """render_report's output, marked for `snakemake --report`."""
    labels = {"name": "ctDNA monitoring report"}
    if report_is_folder():
        return report(
            directory(report_target()),
            htmlindex="index.html",
            category="Report",
            labels=labels,
        )
    return report(report_target(), category="Report", labels=labels)


def report_page():
    """The page a reader opens (given to the notification messages)."""
    return "results/report/index.html" if report_is_folder() else "results/report.html"


def quarantine_rows():
    """[row, sample, patient, column, path, problem] of each quarantined file, for the report."""
    return [
        [p.row, p.sample, p.patient, p.column, p.path, p.message] for p in quarantined
    ]


wildcard_constraints:
    patient=r"[A-Za-z0-9][A-Za-z0-9._-]*",


# Ingestion goes by batches of patients: one job (one Python start, one scheduler submission) reads
# the VCFs of about `ingest_batch_patients` patients (default 50). A patient's batch follows from a stable hash
# of its ID (ctdna_monitor.batches), so adding a draw or a patient reads one batch again; the number of batches
# (a power of two) changes only when the cohort doubles past it, which regroups (and reingests) once.
def _ingest_batches():
    return batches.ingest_batches(
        samples.patient,
        int(config.get("ingest_batch_patients", 50)),
        int(config.get("ingest_max_batches", batches.MAX_BATCHES)),
    )


ingest_batches = _ingest_batches()
batch_of_patient = {
    patient: batch for batch, members in ingest_batches.items() for patient in members
}


wildcard_constraints:
    batch=r"[0-9]+",


def _file_stat(path):
    """(size, mtime_ns, inode) of a sheet's file, as the pre-flight check saw it."""
    entry = file_facts.entries.get(path)
    if entry is None:
        info = os.stat(path)
        return info.st_size, info.st_mtime_ns, info.st_ino
    return entry[0], entry[1], entry[2]


# Each ingestion job's input is the list of its batch's draws (ctdna_monitor.batches.write_draw_lists), written
# here when the text of a list changes: one input per job instead of every VCF path.
DRAW_LISTS = "results/ingest/draws"
_draw_lists = batches.draw_lists(
    zip(samples.patient, samples["sample"], samples.vcf, samples.vcf_sample),
    batch_of_patient,
    _file_stat,
)
try:
    batches.write_draw_lists(_draw_lists, DRAW_LISTS)
except (CtdnaError, OSError) as error:
    sys.exit(
        f"ctdna-monitor output error: the ingestion draw lists cannot be written in {DRAW_LISTS} "
        f"({error}): make the working directory's results/ folder writable"
    )
batch_vcf_mb = {
    batch: sum(draw[3] for draw in draws) / 1e6 for batch, draws in _draw_lists.items()
}


def get_batch_vcf_mb(wildcards):
    """The MB of VCFs an ingestion job reads (sizes its resource request)."""
    return batch_vcf_mb[wildcards.batch]


def get_patient_calls(wildcards):
    return f"results/ingest/batch-{batch_of_patient[wildcards.patient]}.tsv"


def get_patient_bams(wildcards):
    mine = samples[(samples.patient == wildcards.patient) & (samples.bam != "")]
    return list(mine.bam)


def get_patient_bam_draws(wildcards):
    """(sample, bam) of each draw of the patient that has a BAM/CRAM."""
    mine = samples[(samples.patient == wildcards.patient) & (samples.bam != "")]
    return [[row.sample, row.bam] for row in mine.itertuples(index=False)]


def get_pages_of_patient(wildcards):
    """The pages list for one patient's PDF; a patient the sample sheet does not name stops the run
    before any job (not after the whole workflow)."""
    if wildcards.patient not in known_patients:
        sys.exit(
            f"ctdna-monitor input error: results/patients/{wildcards.patient}.pdf: no patient "
            f"'{wildcards.patient}' in the sample sheet {config['samples']} (or every draw of it quarantined); "
            "ask for a patient of the sheet"
        )
    return "results/patients/pages.tsv"


def get_genotyped():
    patients = sorted(set(samples.loc[samples.bam != "", "patient"]))
    return [f"results/genotype/{patient}.tsv" for patient in patients]


def get_background_inputs():
    """Panel-of-normals files, so a change to them reruns the timeline."""
    background = config.get("background", {})
    table = [background["table"]] if background.get("table") else []
    return table + list(background.get("normals", []))


def get_ingested(wildcards=None):
    return [f"results/ingest/batch-{batch}.tsv" for batch in ingest_batches]


# Resources (threads 1: every step is single-threaded Python, but build_timeline, whose patients are done
# in parts side by side after the background fit). Memory and runtime grow with the
# size of the inputs; the coefficients come from benchmarks/scale (peak RSS and wall time of each step
# on 100 to 10,000 draws, with a margin). `attempt` doubles the request of a retried job (the SLURM
# profile retries once, e.g. after an out-of-memory kill). Units: mem_mb in MB, runtime in minutes.
# By default the size is that of all the job's input files (input.size_mb: Snakemake waits until they
# exist before it evaluates the request); `sized` names a function of the wildcards returning the
# files to size instead, for grouped jobs whose request must be known when the group is submitted
# (a request still unknown then is left out of the group's total). At 10,000 draws (40 MB of
# ingestion tables, 104 MB timeline) the whole process tree peaked at 1.8 GB (benchmarks/scale).
def get_mem_mb(base_mb, per_input_mb, sized=None):
    def mem_mb(wildcards, input, attempt):
        return int(
            (base_mb + per_input_mb * _size_mb(wildcards, input, sized)) * attempt
        )

    return mem_mb


def get_runtime(base_min, per_input_mb, sized=None):
    def runtime(wildcards, input, attempt):
        return (
            int(base_min + per_input_mb * _size_mb(wildcards, input, sized)) * attempt
        )

    return runtime


def _size_mb(wildcards, input, sized):
    if sized is None:
        return input.size_mb
    files = sized(wildcards)
    if isinstance(files, (int, float)):  # a size in MB, already known
        return files
    # (files not written yet, as in a dry run, count as empty)
    return sum(os.path.getsize(path) for path in files if os.path.exists(path)) / 1e6
