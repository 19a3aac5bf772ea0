"""Real local receivers for notification tests: an SMTP server (aiosmtpd, optional STARTTLS and login) and an
HTTP server (http.server) on 127.0.0.1, each recording what it received."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import ssl
import subprocess
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def self_signed_cert(folder) -> tuple[str, str]:
    """A certificate for 127.0.0.1 (openssl), as (cert, key) paths."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)  # fmt: skip
    return str(cert), str(key)


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's handler name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "message": message,
                              "tls": session.ssl is not None, "login": session.authenticated})  # fmt: skip
        return "250 OK"


@contextmanager
def smtp_server(port: int, tls: tuple[str, str] | None = None, login: tuple[str, str] | None = None):
    """aiosmtpd on 127.0.0.1:port; with `tls` (cert, key) STARTTLS is required, with `login` AUTH too."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    mailbox = Mailbox()
    options = {}
    if tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*tls)
        options.update(tls_context=context, require_starttls=True)
    if login:
        def authenticator(server, session, envelope, mechanism, data):
            return AuthResult(success=(data.login.decode(), data.password.decode()) == login)

        options.update(authenticator=authenticator, auth_required=True)
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


@contextmanager
def http_server(port: int, status: int = 200, hold: threading.Event | None = None):
    """http.server on 127.0.0.1:port recording each POST (headers, JSON body); answers `status`, after `hold`
    is set when given (a receiver that hangs, to kill the sender meanwhile)."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append({"headers": dict(self.headers), "json": json.loads(body), "path": self.path})
            if hold is not None:
                hold.wait(120)
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()
