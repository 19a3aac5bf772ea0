"""The `notify:` section of the config: defaults, checks, and which channels are on."""

from __future__ import annotations

import urllib.parse

from ..errors import InputError

SMTP_DEFAULTS = {
    "enabled": False, "host": "", "port": 587, "starttls": True, "sender": "", "recipients": [],
    "username": "", "password_env": "", "timeout_seconds": 20,
}  # fmt: skip
WEBHOOK_DEFAULTS = {
    "enabled": False, "url": "", "url_env": "", "secret_header": "X-Ctdna-Monitor-Secret", "secret_env": "",
    "timeout_seconds": 20,
}  # fmt: skip
WHERE = "config/config.yaml (or --config)"


def _local(host: str) -> bool:
    """A server on this machine (a test receiver): clear text never leaves it."""
    return str(host).lower() in {"127.0.0.1", "localhost", "::1"}


def _problem(key: str, message: str) -> InputError:
    return InputError(WHERE, f"configuration key 'notify.{key}': {message}", hint="every key: config/README.md, section Notification")


def channels(config: dict) -> dict[str, dict]:
    """Enabled channels ('smtp', 'webhook') with their settings, defaults filled in."""
    notify = (config or {}).get("notify") or {}
    out = {}
    for name, defaults in (("smtp", SMTP_DEFAULTS), ("webhook", WEBHOOK_DEFAULTS)):
        given = notify.get(name) or {}
        merged = {**defaults, **given}
        if str(merged["enabled"]).lower() == "true":
            out[name] = merged
    return out


def webhook_url(settings: dict) -> str:
    """The webhook's URL: from the environment variable `url_env` names when set (chat services put their
    secret in the URL; read at delivery, it never enters the config, Snakemake's records or the report)."""
    import os

    return os.environ.get(settings["url_env"], "") if settings.get("url_env") else str(settings["url"])


def check_settings(config: dict) -> None:
    """A one-line InputError naming the key when an enabled channel cannot work as configured."""
    enabled = channels(config)
    smtp = enabled.get("smtp")
    if smtp:
        if not smtp["host"]:
            raise _problem("smtp.host", "empty; give the SMTP server's host name")
        if not smtp["sender"] or "@" not in smtp["sender"]:
            raise _problem("smtp.sender", f"'{smtp['sender']}' is not an e-mail address")
        recipients = smtp["recipients"]
        if isinstance(recipients, str) or not recipients or any("@" not in str(r) for r in recipients):
            raise _problem("smtp.recipients", "give a list of e-mail addresses, e.g. [lab@example.org]")
        if smtp["username"] and str(smtp.get("starttls")).lower() != "true" and not _local(smtp["host"]):
            raise _problem("smtp.starttls", "false while smtp.username is set: the password would travel in clear text; set starttls: true")
        if smtp["username"] and not smtp["password_env"]:
            raise _problem("smtp.password_env", "empty while smtp.username is set; name the environment variable that holds the password (never the password itself)")
    hook = enabled.get("webhook")
    if hook:
        url, key = webhook_url(hook), "webhook.url_env" if hook["url_env"] else "webhook.url"
        if hook["url_env"] and not url:
            raise _problem(key, f"environment variable {hook['url_env']} is not set; set it to the webhook's URL")
        if not url.startswith(("http://", "https://")):
            shown = "its value" if hook["url_env"] else f"'{url}'"
            raise _problem(key, f"{shown} is not an http:// or https:// URL")
        clear = url.startswith("http://") and not _local(urllib.parse.urlsplit(url).hostname or "")
        if clear and (hook["secret_env"] or hook["url_env"]):
            raise _problem(key, "http:// while the webhook carries a secret (secret_env or url_env): it would travel in clear text; use https://")
        if hook["secret_env"] and not hook["secret_header"]:
            raise _problem("webhook.secret_header", "empty while webhook.secret_env is set; name the header that carries the secret")
