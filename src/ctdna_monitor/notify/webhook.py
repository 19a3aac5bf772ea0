"""JSON over HTTP POST, with a shared secret header taken from an environment variable."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

from .messages import json_payload
from .settings import webhook_url
from .smtp import DeliveryError


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: following it would turn the POST into a GET without the body, still
    carrying the secret header, and count as delivered."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def send(message: dict, settings: dict) -> None:
    """POST one message; DeliveryError (one line) unless the server answers 2xx."""
    headers = {"Content-Type": "application/json; charset=utf-8", "X-Ctdna-Monitor-Id": message["message_id"]}
    if settings.get("secret_env"):
        secret = os.environ.get(settings["secret_env"], "")
        if not secret:
            raise DeliveryError(f"environment variable {settings['secret_env']} (notify.webhook.secret_env) is not set")
        headers[settings["secret_header"]] = secret
    body = json.dumps(json_payload(message), ensure_ascii=False).encode("utf-8")
    url = webhook_url(settings)
    if not url:
        raise DeliveryError(f"environment variable {settings['url_env']} (notify.webhook.url_env) is not set")
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=float(settings["timeout_seconds"])) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        raise DeliveryError(f"webhook answered HTTP {error.code} {error.reason}") from None
    except (OSError, ValueError) as error:
        raise DeliveryError(f"webhook {type(error).__name__}: {error}") from None
    if not 200 <= status < 300:
        raise DeliveryError(f"webhook answered HTTP {status}")
