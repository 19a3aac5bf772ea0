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
    conda:
        "../envs/ctdna.yaml"
    params:
        detection=config.get("detection", {}),
        alerts=config.get("alerts", {}),
    script:
        "../../scripts/call_alerts.py"
