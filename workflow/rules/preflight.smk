# Quarantine (config quarantine_bad_draws: true): the draws whose files failed the pre-flight check in
# common.smk are left out. This rule writes the sample sheet of the remaining draws (and the events of the
# remaining patients) that the jobs read instead of the user's; the report lists the quarantined draws at
# its top, and the run ends with them as its last lines and exit status 3 (QUARANTINE_EXIT_STATUS).
rule checked_inputs:
    input:
        samples=config["samples"],
        events=[config["events"]] if config.get("events") else [],
    output:
        samples="results/preflight/samples.tsv",
        events="results/preflight/events.tsv",
    log:
        "logs/preflight/checked_inputs.log",
    localrule: True
    conda:
        "../envs/ctdna.yaml"
    threads: 1
    params:
        drop=sorted({problem.sample for problem in quarantined}),
    script:
        "../../scripts/checked_inputs.py"


onsuccess:
    if quarantined:
        print(
            "\n".join(
                report_lines(quarantined, config["samples"], quarantine=True)
            ),
            file=sys.stderr,
        )
        print(
            f"ctdna-monitor: finished WITHOUT the {len({p.sample for p in quarantined})} quarantined "
            f"draw(s) above (exit status {QUARANTINE_EXIT_STATUS}); results/report.html lists them at its top.",
            file=sys.stderr,
        )
        sys.exit(QUARANTINE_EXIT_STATUS)
