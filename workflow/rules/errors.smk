# When a job fails on its input, the run's last lines are that job's one-line message (file, record,
# what to do), printed after Snakemake's own report (ctdna_monitor.job_errors). With notify: enabled the
# failed run is announced too (never hiding the run's own error).
import time

from ctdna_monitor.job_errors import end_with_job_errors, failed_job_lines
from ctdna_monitor.notify.run import notify_failure

run_started = time.time()


onerror:
    notify_failure(
        state_dir, config, failed_job_lines("logs", run_started), str(log or "")
    )
    end_with_job_errors("logs", run_started, log)
