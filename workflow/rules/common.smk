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
    sample=r"[A-Za-z0-9][A-Za-z0-9._-]*",


def get_vcf(wildcards):
    return samples.loc[wildcards.sample, "vcf"]


def get_vcf_sample(wildcards):
    return samples.loc[wildcards.sample, "vcf_sample"]


def get_ingested(wildcards=None):
    return [
        f"results/ingest/{row.patient}/{row.sample}.tsv"
        for row in samples.itertuples(index=False)
    ]
