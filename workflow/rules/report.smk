rule render_report:
    input:
        timeline="results/timeline.tsv",
        alerts="results/alerts.tsv",
        response="results/molecular_response.tsv",
        samples=config["samples"],
        events=events_file,
        knowledgebase=config["knowledgebase"],
        drugs=config["drugs"],
    output:
        report(
            "results/report.html",
            category="Report",
            labels={"name": "ctDNA monitoring report"},
        ),
    log:
        "logs/report/render_report.log",
    conda:
        "../envs/ctdna.yaml"
    params:
        config=config,
    script:
        "../../scripts/render_report.py"
