# Monitoring: what changed since the previous run, and who is told (src/ctdna_monitor/history.py, notify/).
# The alert history lives outside results/ (config state_dir). track_alerts compares this run's alerts with the
# committed snapshot and writes the pending state (deleting the state folder changes params.history, which
# reruns it and starts the history again; the run after that reruns it once more and replays the same changes);
# notify_changes, the last job of a run, queues the notifications, commits the snapshot
# and delivers the outbox. A run that fails or is killed before the end leaves the snapshot as it was.
rule track_alerts:
    input:
        alerts="results/alerts.tsv",
        timeline="results/timeline.tsv",
        # the user's tables (not the quarantine copy): with the results they identify the run (history.track)
        sheet=config["samples"],
        events=[config["events"]] if config.get("events") else [],
    output:
        changes="results/alert_changes.tsv",
        pending=f"{state_dir}/pending.json",
    log:
        "logs/monitor/track_alerts.log",
    group:
        "cohort"
    conda:
        "../envs/ctdna.yaml"
    threads: 1
    resources:
        mem_mb=get_mem_mb(1000, 15, sized=get_ingested),
        runtime=get_runtime(5, 0.2, sized=get_ingested),
    params:
        # Deleting the state folder reruns this job (a missing intermediate output alone would not).
        history=history_presence(),
    script:
        "../../scripts/track_alerts.py"


# Runs on the host that runs Snakemake (which can reach the mail server). While messages wait in the outbox,
# `retry` differs at every invocation, so the next run (even one with nothing else to do) tries them again.
rule notify_changes:
    input:
        pending=f"{state_dir}/pending.json",
        changes="results/alert_changes.tsv",
        report=report_target(),
        tables=[
            "results/timeline.tsv",
            "results/alerts.tsv",
            "results/background.tsv",
            "results/negatives.tsv",
            "results/molecular_response.tsv",
        ],
        # the last job of a run: after every other output
        pages="results/patients/pages.tsv",
        pdfs="results/patients/changed-pdf",
    output:
        "results/notifications.tsv",
    log:
        "logs/monitor/notify_changes.log",
    localrule: True
    conda:
        "../envs/ctdna.yaml"
    threads: 1
    params:
        notify=config.get("notify", {}),
        quarantine=quarantine_rows(),
        report=os.path.abspath(report_page()),
        retry=notify_retry_token(),
    script:
        "../../scripts/notify_changes.py"
