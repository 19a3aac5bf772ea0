"""Messages queued in the state folder (`outbox/`) until every channel took them (then `sent/`).

Queueing is idempotent: a message whose identifier is already queued or sent is not queued again, so a run
that is killed and started again announces nothing twice (unless the kill fell between a server accepting a
message and the outbox recording it: then the repeat carries the same identifier). Delivery never raises:
a failure is logged, counted in the message's entry and retried at the next run.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ..atomic import write_text
from . import smtp, webhook
from .settings import channels
from .smtp import DeliveryError

log = logging.getLogger("ctdna_monitor")
SENDERS = {"smtp": smtp.send, "webhook": webhook.send}
RESULT_COLUMNS = ["message_id", "kind", "channel", "status", "attempts", "detail"]


def _folders(state_dir) -> tuple[Path, Path]:
    return Path(state_dir) / "outbox", Path(state_dir) / "sent"


def enqueue(state_dir, message: dict, channel_names) -> bool:
    """Queue `message` for the named channels; False when it is already queued or sent (or no channel)."""
    names = sorted(channel_names)
    outbox, sent = _folders(state_dir)
    name = f"{message['message_id']}.json"
    if not names or (outbox / name).exists() or (sent / name).exists():
        return False
    outbox.mkdir(parents=True, exist_ok=True)
    entry = {"message": message, "pending": names, "attempts": 0, "errors": []}
    write_text(outbox / name, json.dumps(entry, indent=1, ensure_ascii=False) + "\n", durable=True)
    log.info("notification %s (%s) queued for %s", message["message_id"], message["kind"], ", ".join(names))
    return True


def pending_ids(state_dir) -> list[str]:
    outbox, _ = _folders(state_dir)
    return sorted(path.stem for path in outbox.glob("*.json")) if outbox.is_dir() else []


def deliver(state_dir, config: dict, senders=None) -> list[dict]:
    """Try every queued message on its pending channels; one result row per attempt (RESULT_COLUMNS)."""
    senders = senders or SENDERS
    outbox, sent = _folders(state_dir)
    results = []
    try:
        enabled = channels(config)
        entries = sorted(outbox.glob("*.json")) if outbox.is_dir() else []
    except Exception as error:  # noqa: BLE001 (notification never fails the run)
        log.warning("notifications not delivered: %s", error)
        return results
    down: set[str] = set()  # channels that failed in this pass: later messages wait for the next run
    for path in entries:
        try:
            results.extend(_deliver_one(path, sent, enabled, senders, down))
        except Exception as error:  # noqa: BLE001 (a damaged entry: logged, left for the user)
            log.warning("notification %s not delivered (%s: %s); it stays in %s", path.stem, type(error).__name__, error, outbox)
            results.append({"message_id": path.stem, "kind": "", "channel": "", "status": "failed", "attempts": "",
                            "detail": f"{type(error).__name__}: {error}"})  # fmt: skip
    return results


def _deliver_one(path: Path, sent: Path, enabled: dict, senders, down: set[str]) -> list[dict]:
    """Try one queued message. A channel in `down` is not tried again in this pass: a dead server costs
    one timeout per run, not one per waiting message (the message stays queued, its identifier kept)."""
    entry = json.loads(path.read_text(encoding="utf-8"))
    message = entry["message"]
    results, still = [], []
    entry["attempts"] += 1
    for channel in entry["pending"]:
        row = {"message_id": message["message_id"], "kind": message["kind"], "channel": channel, "attempts": entry["attempts"]}
        if channel not in enabled:
            results.append({**row, "status": "dropped", "detail": f"notify.{channel} is no longer enabled"})
            continue
        if channel in down:
            still.append(channel)
            results.append({**row, "status": "deferred", "detail": f"{channel} failed earlier in this run"})
            continue
        try:
            senders[channel](message, enabled[channel])
        except DeliveryError as error:
            down.add(channel)
            still.append(channel)
            entry["errors"] = (entry["errors"] + [f"{channel}: {error}"])[-5:]
            log.warning("notification %s not delivered by %s (attempt %d): %s; it is retried at the next run",
                        message["message_id"], channel, entry["attempts"], error)  # fmt: skip
            results.append({**row, "status": "failed", "detail": str(error)})
            continue
        log.info("notification %s delivered by %s", message["message_id"], channel)
        results.append({**row, "status": "delivered", "detail": ""})
    entry["pending"] = still
    if still:
        write_text(path, json.dumps(entry, indent=1, ensure_ascii=False) + "\n", durable=True)
    else:
        sent.mkdir(parents=True, exist_ok=True)
        write_text(sent / path.name, json.dumps(entry, indent=1, ensure_ascii=False) + "\n", durable=True)
        path.unlink()
    return results


def queue_and_deliver(state_dir, config: dict, message: dict) -> list[dict]:
    """Queue `message` on the enabled channels and deliver the outbox; never raises (for onerror)."""
    try:
        enqueue(state_dir, message, channels(config))
    except Exception as error:  # noqa: BLE001
        log.warning("notification not queued: %s", error)
    return deliver(state_dir, config)
