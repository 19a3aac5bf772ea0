"""Notification (ctdna_monitor.notify) against a real SMTP server (aiosmtpd) and a real HTTP server on 127.0.0.1."""

import json

import pytest
from notify_servers import free_port, http_server, self_signed_cert, smtp_server

from ctdna_monitor.errors import InputError
from ctdna_monitor.notify import check_settings
from ctdna_monitor.notify.messages import changes_message, failure_message, quarantine_message
from ctdna_monitor.notify.outbox import deliver, enqueue, pending_ids

CHANGES = [
    {"change_id": "C1", "change": "new", "alert_id": "A1", "patient": "PT-001", "type": "emergence", "gene": "EGFR",
     "protein_change": "T790M", "kb_id": "EGFR_T790M", "draw_date": "2025-05-09", "detail": "", "variant": "EGFR_T790M",
     "previous_run": ""},
    {"change_id": "C2", "change": "withdrawn", "alert_id": "A2", "patient": "PT-002", "type": "molecular_progression",
     "gene": "", "protein_change": "", "kb_id": "", "draw_date": "2025-06-01", "detail": "the draw of 2025-06-01 is no longer in the sample sheet",
     "variant": "ctDNA level", "previous_run": ""},
]  # fmt: skip


def config(smtp_port=None, http_port=None, **smtp):
    notify = {}
    if smtp_port:
        notify["smtp"] = {"enabled": True, "host": "127.0.0.1", "port": smtp_port, "starttls": False,
                          "sender": "ctdna@lab.example", "recipients": ["oncall@lab.example"], **smtp}  # fmt: skip
    if http_port:
        notify["webhook"] = {"enabled": True, "url": f"http://127.0.0.1:{http_port}/hook", "secret_env": "HOOK_SECRET"}
    return {"notify": notify}


def test_changes_reach_smtp_and_webhook_with_stable_ids(tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK_SECRET", "s3cret")
    smtp_port, http_port = free_port(), free_port()
    cfg = config(smtp_port, http_port)
    message = changes_message(CHANGES, "/data/results/report.html", "2026-11-26T10:00:00Z")
    assert enqueue(tmp_path, message, ["smtp", "webhook"])
    assert not enqueue(tmp_path, changes_message(CHANGES, "/data/results/report.html"), ["smtp", "webhook"])  # same id
    with smtp_server(smtp_port) as mailbox, http_server(http_port) as posts:
        results = deliver(tmp_path, cfg)
    assert {(r["channel"], r["status"]) for r in results} == {("smtp", "delivered"), ("webhook", "delivered")}
    assert pending_ids(tmp_path) == []
    mail = mailbox.messages[0]["message"]
    assert mail["Message-ID"] == f"<{message['message_id']}@ctdna-monitor>"
    assert mail["X-Ctdna-Monitor-Id"] == message["message_id"] and mail["X-Ctdna-Monitor-Change-Ids"] == "C1 C2"
    body = mail.get_content()
    assert "NEW: patient PT-001, emergence, EGFR T790M, draw of 2025-05-09" in body
    assert "WITHDRAWN: patient PT-002, molecular_progression, ctDNA level" in body and "/data/results/report.html" in body
    assert mailbox.messages[0]["to"] == ["oncall@lab.example"]
    post = posts[0]
    assert post["headers"]["X-Ctdna-Monitor-Secret"] == "s3cret" and post["path"] == "/hook"
    assert post["json"]["message_id"] == message["message_id"]
    assert [c["change_id"] for c in post["json"]["changes"]] == ["C1", "C2"]
    assert set(post["json"]["changes"][0]) == {"change_id", "change", "alert_id", "patient", "type", "gene",
                                               "protein_change", "kb_id", "draw_date", "detail", "alteration"}  # fmt: skip


def test_server_down_then_retried_with_the_same_id(tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK_SECRET", "s3cret")
    smtp_port, http_port = free_port(), free_port()
    cfg = config(smtp_port, http_port)
    message = changes_message(CHANGES, "report.html")
    enqueue(tmp_path, message, ["smtp", "webhook"])
    with http_server(http_port, status=503) as posts:  # SMTP down, webhook answering 503
        results = deliver(tmp_path, cfg)
    assert {r["status"] for r in results} == {"failed"} and len(posts) == 1
    assert pending_ids(tmp_path) == [message["message_id"]]
    entry = json.loads((tmp_path / "outbox" / f"{message['message_id']}.json").read_text())
    assert entry["attempts"] == 1 and entry["pending"] == ["smtp", "webhook"] and len(entry["errors"]) == 2
    with smtp_server(smtp_port) as mailbox, http_server(http_port) as posts:
        results = deliver(tmp_path, cfg)
    assert {r["status"] for r in results} == {"delivered"}
    assert mailbox.messages[0]["message"]["X-Ctdna-Monitor-Id"] == message["message_id"]
    assert posts[0]["json"]["message_id"] == message["message_id"]
    assert pending_ids(tmp_path) == [] and (tmp_path / "sent" / f"{message['message_id']}.json").exists()
    with smtp_server(smtp_port) as mailbox:  # nothing left to send
        assert deliver(tmp_path, cfg) == [] and mailbox.messages == []


def test_one_channel_down_keeps_only_that_channel_pending(tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK_SECRET", "s3cret")
    smtp_port, http_port = free_port(), free_port()
    cfg = config(smtp_port, http_port)
    message = failure_message(["ctdna-monitor input error: a.vcf, record 3: bad"], "logs/x.log", day="2026-11-27")
    enqueue(tmp_path, message, ["smtp", "webhook"])
    with smtp_server(smtp_port) as mailbox:
        deliver(tmp_path, cfg)
    assert len(mailbox.messages) == 1 and "FAILED" in mailbox.messages[0]["message"]["Subject"]
    entry = json.loads((tmp_path / "outbox" / f"{message['message_id']}.json").read_text())
    assert entry["pending"] == ["webhook"]
    with smtp_server(smtp_port) as mailbox, http_server(http_port) as posts:
        deliver(tmp_path, cfg)
    assert mailbox.messages == [] and posts[0]["json"]["kind"] == "run_failed"


def test_starttls_and_login_with_password_from_environment(tmp_path, monkeypatch):
    cert, key = self_signed_cert(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", cert)  # the client checks the server's certificate against it
    port = free_port()
    cfg = config(port, starttls=True, username="lab", password_env="SMTP_PASSWORD")
    problem = "same file as sample S9 (row 9): /x/S9.vcf"  # a problem's text may name other rows' files
    message = quarantine_message([[4, "S4", "PT-004", "vcf", "/x/S4.vcf", problem]], "report.html")
    assert "/x/S" not in json.dumps(message) and "S9" not in json.dumps(message)  # no paths, no other samples
    enqueue(tmp_path / "state", message, ["smtp"])
    with smtp_server(port, tls=(cert, key), login=("lab", "pw")) as mailbox:
        failed = deliver(tmp_path / "state", cfg)  # password variable not set: retried later
        monkeypatch.setenv("SMTP_PASSWORD", "pw")
        delivered = deliver(tmp_path / "state", cfg)
    assert failed[0]["status"] == "failed" and "SMTP_PASSWORD" in failed[0]["detail"]
    assert delivered[0]["status"] == "delivered"
    assert mailbox.messages[0]["tls"] and mailbox.messages[0]["login"]


@pytest.mark.parametrize("key, notify", [
    ("notify.smtp.host", {"smtp": {"enabled": True, "sender": "a@b", "recipients": ["c@d"]}}),
    ("notify.smtp.recipients", {"smtp": {"enabled": True, "host": "h", "sender": "a@b", "recipients": "c@d"}}),
    ("notify.smtp.password_env", {"smtp": {"enabled": True, "host": "h", "sender": "a@b", "recipients": ["c@d"], "username": "u"}}),
    ("notify.webhook.url", {"webhook": {"enabled": True, "url": "ftp://x"}}),
])  # fmt: skip
def test_bad_settings_name_the_key(key, notify):
    with pytest.raises(InputError, match=f"configuration key '{key}'"):
        check_settings({"notify": notify})
    check_settings({"notify": {"smtp": {**notify.get("smtp", {}), "enabled": False}}})  # disabled: not checked


def test_report_does_not_show_the_webhook_url():
    from ctdna_monitor.report.from_files import shown_config

    config = {"notify": {"webhook": {"enabled": True, "url": "https://hooks.example/services/T0/S3CRET"}}}
    assert "S3CRET" not in json.dumps(shown_config(config)) and "S3CRET" in json.dumps(config)


def test_messages_carry_no_values_beyond_the_allowed_fields():
    """A change's reason in results/alert_changes.tsv names therapies, scan dates, VAF and p-values; a message
    carries only a fixed phrase for it. A failed run's message never carries the jobs' messages (file paths)."""
    changes = [dict(CHANGES[0], change="updated", detail="lead time now known: 84 days (PD scan 2025-08-01); "
                    "therapy at the draw now osimertinib (was none)"),
               dict(CHANGES[0], change_id="C9", change="withdrawn", detail="detected at the draw of 2025-05-09, p = 0.0021, "
                    "but no longer at the alert level (background, therapy or FILTER changed)")]  # fmt: skip
    text = json.dumps(changes_message(changes, "results/report.html"))
    for value in ("84 days", "2025-08-01", "osimertinib", "0.0021"):
        assert value not in text, value
    assert "lead time now known; therapy changed" in text and "below the alert level" in text
    failed = json.dumps(failure_message(["results/ingest/batch-1.tsv: /data/PT-004/D3.vcf record 12: bad REF"], log="logs/run.log"))
    assert "/data/PT-004" not in failed and "record 12" not in failed and "logs/run.log" in failed


def test_a_redirecting_webhook_is_not_delivered(tmp_path, monkeypatch):
    """A 302 answer would turn the POST into a GET without the changes but with the secret header, and the
    page it leads to would answer 200: it counts as a failed delivery (kept for the next run), nothing follows."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    requests = []

    class Redirecting(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            requests.append(("POST", self.path))
            self.send_response(302)
            self.send_header("Location", "/landing")
            self.end_headers()

        def do_GET(self):  # noqa: N802
            requests.append(("GET", self.path, self.headers.get("X-Ctdna-Monitor-Secret")))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    monkeypatch.setenv("HOOK_SECRET", "s3cret")
    port = free_port()
    cfg = config(http_port=port)
    cfg["notify"]["webhook"]["secret_env"] = "HOOK_SECRET"
    message = changes_message(CHANGES, "results/report.html")
    enqueue(tmp_path, message, ["webhook"])
    server = ThreadingHTTPServer(("127.0.0.1", port), Redirecting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = deliver(tmp_path, cfg)
    finally:
        server.shutdown()
        server.server_close()
    assert result[0]["status"] == "failed" and "302" in result[0]["detail"]
    assert requests == [("POST", "/hook")] and message["message_id"] in pending_ids(tmp_path)


def test_secrets_never_travel_in_clear_text():
    smtp = {"enabled": True, "host": "mail.lab.example", "sender": "a@lab.example", "recipients": ["b@lab.example"],
            "username": "lab", "password_env": "PW", "starttls": False}  # fmt: skip
    with pytest.raises(InputError, match="smtp.starttls"):
        check_settings({"notify": {"smtp": smtp}})
    hook = {"enabled": True, "url": "http://hooks.lab.example/x", "secret_env": "S"}
    with pytest.raises(InputError, match="webhook.url"):
        check_settings({"notify": {"webhook": hook}})


def test_a_hanging_server_costs_one_timeout_per_run_not_one_per_message(tmp_path, monkeypatch):
    """A webhook that takes the connection and never answers: the first message waits for the timeout, the
    others of the same run are deferred without a connection, and all stay queued with their identifiers."""
    import socket
    import time

    monkeypatch.setenv("HOOK_SECRET", "s3cret")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts (kernel backlog) but never reads or answers
    cfg = config(http_port=listener.getsockname()[1])
    cfg["notify"]["webhook"]["timeout_seconds"] = 1
    messages = [changes_message(CHANGES, "report.html"), failure_message(["exit status 1"], "log.txt"),
                quarantine_message([[2, "S1", "P1", "vcf", "a.vcf", "truncated"]], "report.html")]  # fmt: skip
    for message in messages:
        enqueue(tmp_path, message, ["webhook"])
    started = time.monotonic()
    try:
        results = deliver(tmp_path, cfg)
    finally:
        listener.close()
    assert time.monotonic() - started < 2.5  # one timeout of 1 s, not three
    assert sorted(r["status"] for r in results) == ["deferred", "deferred", "failed"]
    assert pending_ids(tmp_path) == sorted(m["message_id"] for m in messages)


def test_a_webhook_url_from_the_environment_is_used_and_checked(tmp_path, monkeypatch):
    """url_env: the URL (a chat service's secret) comes from the environment at delivery, never the config."""
    http_port = free_port()
    cfg = {"notify": {"webhook": {"enabled": True, "url_env": "HOOK_URL"}}}
    with pytest.raises(InputError, match="notify.webhook.url_env.*HOOK_URL is not set"):
        check_settings(cfg)
    monkeypatch.setenv("HOOK_URL", f"http://hooks.example/services/{'S3CRET'}")
    with pytest.raises(InputError, match="clear text"):
        check_settings(cfg)
    monkeypatch.setenv("HOOK_URL", f"http://127.0.0.1:{http_port}/from-env")
    check_settings(cfg)
    message = changes_message(CHANGES, "report.html")
    enqueue(tmp_path, message, ["webhook"])
    with http_server(http_port) as posts:
        results = deliver(tmp_path, cfg)
    assert [r["status"] for r in results] == ["delivered"] and posts[0]["json"]["message_id"] == message["message_id"]
    assert posts[0]["path"] == "/from-env"
    assert "127.0.0.1" not in json.dumps(cfg)
