rule call_alerts:
    input:
        timeline="results/timeline.tsv",
        samples=samples_sheet,
        events=events_file,
        knowledgebase=config["knowledgebase"],
        drugs=config["drugs"],
        oncotree=config["oncotree"],
        # Not read: sizes the request (see get_mem_mb). They exist when the group "cohort" is
        # submitted, whereas results/timeline.tsv is written inside that group job.
        sizing=get_ingested(),
    output:
        alerts="results/alerts.tsv",
        response="results/molecular_response.tsv",
    log:
        "logs/alerts/call_alerts.log",
    group:
        "cohort"
    conda:
        "../envs/ctdna.yaml"
    threads: 1
    resources:
        mem_mb=get_mem_mb(1000, 30, sized=get_ingested),
        runtime=get_runtime(10, 0.5, sized=get_ingested),
    params:
        detection=config.get("detection", {}),
        alerts=config.get("alerts", {}),
        filters=config.get("filters", {}),
    script:
        "../../scripts/call_alerts.py"
