rule call_alerts:
    input:
        timeline="results/timeline.tsv",
        samples=config["samples"],
        events=events_file,
        knowledgebase=config["knowledgebase"],
        drugs=config["drugs"],
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
        mem_mb=get_mem_mb(1000, 10),
        runtime=get_runtime(10, 0.2),
    params:
        detection=config.get("detection", {}),
        alerts=config.get("alerts", {}),
    script:
        "../../scripts/call_alerts.py"
