"""Wiring of thresholds and alerts into the app: readings from every ingest batch go to the
evaluation, and the alert job (offline devices, held notifications, reminders) runs on the
job runner, once per minute across all processes."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from ..services.alert_evaluation import AlertEvaluation, Reading
from ..services.ingest import DeviceReport
from ..services.thresholds import Thresholds
from .keys import ALERT_EVALUATION, INGEST, JOBS, THRESHOLDS

ALERT_JOB = "alerts"
ALERT_JOB_SECONDS = 60.0


def add_alerting(app: web.Application, thresholds: Thresholds, evaluation: AlertEvaluation) -> None:
    """Register the services, the post-ingest hook and the alert job."""
    app[THRESHOLDS] = thresholds
    app[ALERT_EVALUATION] = evaluation

    async def on_ingest(reports: list[DeviceReport]) -> None:
        await evaluation.evaluate([reading_of(report) for report in reports])

    app[INGEST].listeners.append(on_ingest)
    app[JOBS].register(ALERT_JOB, ALERT_JOB_SECONDS, evaluation.run_checks)


def reading_of(report: DeviceReport) -> Reading:
    """A batch's newest sample of one device, as the evaluation reads it."""
    sample = report.latest
    return Reading(
        device_id=report.device.id,
        at=datetime.fromtimestamp(sample.ts / 1000, UTC),
        power=sample.power,
        current=sample.current,
        voltage=sample.voltage,
    )
