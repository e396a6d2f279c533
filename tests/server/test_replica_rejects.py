"""An item from another shard that does not parse is counted in /metrics
(``vetrina_rejected_total{event="replica"}``) and logged once per kind, and the room keeps ticking."""

from __future__ import annotations

import logging

import pytest

from server.app import ROOMS
from tests.conftest import AppServer, Visitor
from tests.server.test_bad_input import metric, metrics_text
from world.replication.shared import Replicated


async def test_bad_replicas_are_counted_in_metrics_and_logged_once_per_kind(
    server: AppServer, visitors: list[Visitor], caplog: pytest.LogCaptureFixture
) -> None:
    ada = Visitor("Ada")
    visitors.append(ada)
    await ada.connect(server.url)
    await ada.join("showroom")
    runner = server.app[ROOMS]["showroom"]
    caplog.set_level(logging.WARNING, logger="server.runner")
    for item in (Replicated("chat", {"id": 5}), Replicated("chat", {"text": "no id"}), Replicated("stage", {"action": "x"})):
        assert runner.submit(item)

    reply = await ada.call("chat", {"text": "still ticking"})  # answered by the tick that took them, or a later one
    assert reply["ok"]  # the room kept its ticks
    text = await metrics_text(server)
    assert metric(text, "vetrina_rejected_total", code="bad_request", event="replica") == 3
    refused = [r.getMessage() for r in caplog.records if "from another shard was refused" in r.getMessage()]
    assert len(refused) == 2 and any("a chat item" in m for m in refused) and any("a stage item" in m for m in refused)
