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
        report(
            "results/report.html",
            category="Report",
            labels={"name": "ctDNA monitoring report"},
        ),
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
    script:
        "../../scripts/render_report.py"
