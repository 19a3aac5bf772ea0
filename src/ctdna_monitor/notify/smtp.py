"""E-mail over SMTP (optionally STARTTLS; login with a password from an environment variable)."""

from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from .messages import text_body


class DeliveryError(Exception):
    """A message could not be delivered (it stays in the outbox)."""


def build_email(message: dict, settings: dict) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = message["subject"]
    mail["From"] = settings["sender"]
    mail["To"] = ", ".join(settings["recipients"])
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = f"<{message['message_id']}@ctdna-monitor>"
    mail["X-Ctdna-Monitor-Id"] = message["message_id"]
    mail["X-Ctdna-Monitor-Kind"] = message["kind"]
    if message["changes"]:
        mail["X-Ctdna-Monitor-Change-Ids"] = " ".join(c["change_id"] for c in message["changes"])
    mail.set_content(text_body(message))
    return mail


def send(message: dict, settings: dict) -> None:
    """Send one message; DeliveryError (one line) when it cannot be."""
    password = ""
    if settings.get("username"):
        password = os.environ.get(settings["password_env"], "")
        if not password:
            raise DeliveryError(f"environment variable {settings['password_env']} (notify.smtp.password_env) is not set")
    try:
        with smtplib.SMTP(settings["host"], int(settings["port"]), timeout=float(settings["timeout_seconds"])) as server:
            if str(settings.get("starttls")).lower() == "true":
                server.starttls(context=ssl.create_default_context())
            if settings.get("username"):
                server.login(settings["username"], password)
            refused = server.send_message(build_email(message, settings))
    except (OSError, smtplib.SMTPException, ssl.SSLError) as error:
        raise DeliveryError(f"SMTP {settings['host']}:{settings['port']}: {type(error).__name__}: {error}") from None
    if refused:  # (kept pending: the next run sends it again, with the same Message-ID)
        raise DeliveryError(f"SMTP {settings['host']}:{settings['port']} refused {len(refused)} recipient(s)")
