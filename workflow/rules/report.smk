rule render_report:
    input:
        timeline="results/timeline.tsv",
        alerts="results/alerts.tsv",
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
    group:
        "cohort"
    conda:
        "../envs/ctdna.yaml"
    threads: 1
    resources:
        mem_mb=get_mem_mb(1000, 10),
        runtime=get_runtime(10, 0.2),
    params:
        config=config,
    script:
        "../../scripts/render_report.py"
