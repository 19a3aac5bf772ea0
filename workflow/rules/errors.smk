# When a job fails on its input, the run's last lines are that job's one-line message (file, record,
# what to do), printed after Snakemake's own report (ctdna_monitor.job_errors).
import time

from ctdna_monitor.job_errors import end_with_job_errors

run_started = time.time()


onerror:
    end_with_job_errors("logs", run_started, log)
