"""Notification of a run's alert changes, failed runs and quarantined draws (config `notify:`).

- `settings`: the `notify:` section of the config, checked (one line naming the key when wrong);
- `messages`: what is sent (pseudonymous patient IDs, alteration, draw date, type, report path; never
  other patient data), each message and change with a stable identifier;
- `outbox`: messages queued in the state folder and delivered at least once (a failed delivery is logged
  and retried at the next run; delivery never fails the run);
- `smtp` (e-mail over SMTP, optional STARTTLS) and `webhook` (JSON over HTTP POST) do the sending.
Secrets (SMTP password, webhook secret) come only from environment variables named in the config.
"""

from .settings import channels, check_settings

__all__ = ["channels", "check_settings"]
