# Validate the config and the input tables before any job runs, so a bad sheet
# stops the workflow with one clear message and nothing under results/.
import sys

from snakemake.utils import validate

from ctdna_monitor.errors import CtdnaError
from ctdna_monitor.inputs import load_events, load_samples
from ctdna_monitor.knowledgebase import DrugTable, KnowledgeBase

validate(config, "../schemas/config.schema.yaml")


def _load_inputs():
    try:
        samples = load_samples(config["samples"])
        drugs = DrugTable(config["drugs"])
        KnowledgeBase(config["knowledgebase"])
        if config.get("events"):
            load_events(config["events"], samples["patient"], drugs)
    except CtdnaError as error:
        sys.exit(f"ctdna-monitor input error: {error}")
    return samples


samples = _load_inputs()
events_file = [config["events"]] if config.get("events") else []


wildcard_constraints:
    patient=r"[A-Za-z0-9][A-Za-z0-9._-]*",


def get_patient_vcfs(wildcards):
    return list(samples.loc[samples.patient == wildcards.patient, "vcf"])


def get_patient_draws(wildcards):
    """(sample, vcf, vcf_sample) of each draw of the patient."""
    mine = samples[samples.patient == wildcards.patient]
    return [
        [row.sample, row.vcf, row.vcf_sample] for row in mine.itertuples(index=False)
    ]


def get_patient_bams(wildcards):
    mine = samples[(samples.patient == wildcards.patient) & (samples.bam != "")]
    return list(mine.bam)


def get_patient_bam_draws(wildcards):
    """(sample, bam) of each draw of the patient that has a BAM/CRAM."""
    mine = samples[(samples.patient == wildcards.patient) & (samples.bam != "")]
    return [[row.sample, row.bam] for row in mine.itertuples(index=False)]


def get_genotyped():
    patients = sorted(set(samples.loc[samples.bam != "", "patient"]))
    return [f"results/genotype/{patient}.tsv" for patient in patients]


def get_background_inputs():
    """Panel-of-normals files, so a change to them reruns the timeline."""
    background = config.get("background", {})
    table = [background["table"]] if background.get("table") else []
    return table + list(background.get("normals", []))


def get_ingested(wildcards=None):
    return [f"results/ingest/{patient}.tsv" for patient in sorted(set(samples.patient))]
