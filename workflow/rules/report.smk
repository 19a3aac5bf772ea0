rule render_report:
    input:
        timeline="results/timeline.tsv",
        alerts="results/alerts.tsv",
        response="results/molecular_response.tsv",
        background="results/background.tsv",
        samples=samples_sheet,
        events=events_file,
        knowledgebase=config["knowledgebase"],
        drugs=config["drugs"],
        oncotree=config["oncotree"],
        changes="results/alert_changes.tsv",
        history=f"{state_dir}/pending.json",
        # Not read: sizes the request (see get_mem_mb). They exist when the group "cohort" is
        # submitted, whereas results/timeline.tsv is written inside that group job.
        sizing=get_ingested(),
    output:
        report_output(),
    log:
        "logs/report/render_report.log",
    group:
        "cohort"
    conda:
        "../envs/ctdna.yaml"
    threads: 1
    resources:
        mem_mb=get_mem_mb(1000, 60, sized=get_ingested),
        runtime=get_runtime(10, 1, sized=get_ingested),
    params:
        config=config,
        quarantine=quarantine_rows(),
        folder=report_is_folder(),
    script:
        "../../scripts/render_report.py"


# One printable page per patient of the sheet (static SVG plot, no script), for the patient's record.
rule render_patient_pages:
    input:
        timeline="results/timeline.tsv",
        alerts="results/alerts.tsv",
        samples=samples_sheet,
        events=events_file,
        knowledgebase=config["knowledgebase"],
        drugs=config["drugs"],
        oncotree=config["oncotree"],
    output:
        # the pages (results/patients/<patient>.html) are listed in this one file rather than named one by
        # one: a rule with 10,000 outputs slowed Snakemake's graph building to minutes at 100,000 draws
        manifest="results/patients/pages.tsv",
    log:
        "logs/report/render_patient_pages.log",
    group:
        "cohort"
    conda:
        "../envs/ctdna.yaml"
    threads: 1
    resources:
        mem_mb=get_mem_mb(1000, 30, sized=get_ingested),
        runtime=get_runtime(10, 0.5, sized=get_ingested),
    params:
        config=config,
    script:
        "../../scripts/render_patient_pages.py"


# PDFs (headless Chromium) of the pages of the patients with an alert change in this run. Without Chromium
# the job logs that and leaves the folder empty. One patient's PDF on request: results/patients/<patient>.pdf.
rule print_patient_pdfs:
    input:
        changes="results/alert_changes.tsv",
        pages="results/patients/pages.tsv",
    output:
        directory("results/patients/changed-pdf"),
    log:
        "logs/report/print_patient_pdfs.log",
    localrule: True
    conda:
        "../envs/ctdna.yaml"
    threads: 1
    script:
        "../../scripts/print_patient_pdfs.py"


rule print_patient_pdf:
    input:
        pages=get_pages_of_patient,
    output:
        "results/patients/{patient}.pdf",
    log:
        "logs/report/print_patient_pdf/{patient}.log",
    localrule: True
    conda:
        "../envs/ctdna.yaml"
    threads: 1
    script:
        "../../scripts/print_patient_pdf.py"
