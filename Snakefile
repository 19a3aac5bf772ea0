# ctdna-monitor: serial plasma VCFs -> VAF timelines -> resistance alerts -> HTML report.
# Research use only. See README.md and config/README.md.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/errors.smk"
include: "workflow/rules/preflight.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/genotype.smk"
include: "workflow/rules/timeline.smk"
include: "workflow/rules/alerts.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/monitor.smk"


rule all:
    default_target: True
    input:
        "results/timeline.tsv",
        "results/alerts.tsv",
        "results/background.tsv",
        "results/negatives.tsv",
        "results/molecular_response.tsv",
        report_target(),
        "results/alert_changes.tsv",
        "results/notifications.tsv",
        "results/patients/pages.tsv",
        "results/patients/changed-pdf",
    localrule: True
