"""Pending claims are triaged when triage is back: a loop in every desk process.

Several replicas may try the same claim: the conditional update in the store lets one
answer win, and triage is sticky by claim reference, so both would answer alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from quoteflow.desk.claims import Desk

log = logging.getLogger(__name__)


async def retry_pending(desk: Desk, interval: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
        if stop.is_set():
            return
        try:
            done = await desk.retry_pending()
        except Exception:  # the database is away: try again next round, say so once each
            log.warning("retrying pending claims failed", exc_info=False)
            continue
        if done:
            log.info("triaged %d pending claim(s)", done)
