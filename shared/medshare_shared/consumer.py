"""How every consumer handles an event: back-pressure, bounded retries, then a dead letter.

Errors fall in two kinds:
- a dependency is unreachable (object store, MongoDB, broker): retrying later will
  work, so the error propagates, the offset is not committed and FastStream seeks
  back (NACK_ON_ERROR). `DeliveryMiddleware` sleeps with a growing backoff first, so
  the consumer pauses on that record instead of dropping it or spinning.
- anything else (bad input, a bug): after `max_attempts` tries with backoff the
  event goes to `records.rejected` with the stage, the error, the attempt count and
  a reference to the original (topic, partition, offset, event id), and the consumer
  moves on. Handlers may do this themselves (`handle_with_retries`, with a richer
  dead letter); the middleware is the fallback for everything else, including
  records that cannot even be decoded (poison pills).

Offsets are committed by FastStream's acknowledgement only after the handler
returned, i.e. after its outputs were acknowledged by S3, MongoDB or the broker.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
from faststream import BaseMiddleware
from minio.error import S3Error, ServerError
from pymongo.errors import ConnectionFailure, ServerSelectionTimeoutError
from urllib3.exceptions import HTTPError as Urllib3HTTPError

from medshare_shared.log import current_trace_id, describe_error
from medshare_shared.metrics import (
    EVENTS_FAILED,
    EVENTS_RETRIED,
    PROCESSING_SECONDS,
)

if TYPE_CHECKING:
    from faststream._internal.context.repository import ContextRepo

log = logging.getLogger(__name__)


class DependencyUnavailable(Exception):
    """Raise (or subclass) to say "a dependency is away, retry later, do not dead-letter"."""


DEPENDENCY_ERRORS: tuple[type[BaseException], ...] = (
    DependencyUnavailable,
    ConnectionError,
    TimeoutError,
    OSError,
    KafkaConnectionError,
    KafkaTimeoutError,
    ConnectionFailure,
    ServerSelectionTimeoutError,
    Urllib3HTTPError,
    ServerError,
)
# S3 answers that mean "not now" rather than "never" (a restarting gateway says these).
TRANSIENT_S3_CODES = frozenset(
    {
        "InternalError",
        "ServiceUnavailable",
        "SlowDown",
        "RequestTimeout",
        "XMinioServerNotInitialized",
    }
)


class PermanentError(Exception):
    """The input can never be processed; dead-letter it without retrying.

    The message must not contain record content (it ends up on a topic and in logs).
    """


def is_dependency_error(error: BaseException) -> bool:
    """True when `error`, or an error it was raised from or while handling, means "away".

    The chain matters: services wrap driver errors in their own (`raise X from None`
    still keeps `__context__`), and a wrapped S3 outage is still an outage.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, PermanentError):
            return False
        if isinstance(current, DEPENDENCY_ERRORS):
            return True
        if isinstance(current, S3Error) and current.code in TRANSIENT_S3_CODES:
            return True
        if isinstance(current, KafkaError) and current.retriable:  # leader moving, broker away
            return True
        current = current.__cause__ or current.__context__
    return False


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    base_delay_s: float = 0.2
    max_delay_s: float = 5.0

    def delay(self, attempt: int) -> float:
        """Backoff before try number `attempt + 1` (attempt counts from 1)."""
        return float(min(self.max_delay_s, self.base_delay_s * 2 ** max(0, attempt - 1)))


DeadLetter = Callable[[str, int], Awaitable[None]]


async def handle_with_retries(
    work: Callable[[], Awaitable[None]],
    *,
    dead_letter: DeadLetter,
    policy: RetryPolicy | None = None,
) -> None:
    """Run `work`; dead-letter it (reason, attempts) when it keeps failing for its own sake.

    Dependency errors propagate at once: the caller (the delivery middleware) backs
    off and lets the record come back, without spending the attempt budget.
    """
    policy = policy or RetryPolicy()
    attempt = 0
    while True:
        attempt += 1
        try:
            await work()
            return
        except PermanentError as error:
            await dead_letter(str(error), attempt)
            return
        except Exception as error:
            if is_dependency_error(error):
                raise
            if attempt >= policy.max_attempts:
                await dead_letter(describe_error(error), attempt)
                return
            log.warning(
                "handling failed, will retry",
                extra={"attempt": attempt, "error": describe_error(error)},
            )
            await asyncio.sleep(policy.delay(attempt))


# -- where the record being handled came from ------------------------------------------


@dataclass(frozen=True)
class SourceRecord:
    topic: str
    partition: int
    offset: int


current_source: ContextVar[SourceRecord | None] = ContextVar("current_source", default=None)


def source_position() -> dict[str, int]:
    """`source_partition`/`source_offset` of the record being handled, for a dead letter.

    Empty outside a single-record handler (a batch has no one position).
    """
    source = current_source.get()
    if source is None:
        return {}
    return {"source_partition": source.partition, "source_offset": source.offset}


def trace_id_from_traceparent(value: str | bytes | None) -> str | None:
    """The trace id of a W3C `traceparent` header (00-<trace id>-<span id>-<flags>)."""
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    if not isinstance(value, str):
        return None
    parts = value.strip().split("-")
    if len(parts) != 4 or len(parts[1]) != 32:
        return None
    try:
        int(parts[1], 16)
    except ValueError:
        return None
    return parts[1] if parts[1] != "0" * 32 else None


def header(record: Any, name: str) -> bytes | None:
    for key, value in getattr(record, "headers", None) or ():
        if key == name:
            return value if isinstance(value, bytes) else None
    return None


def peek_event(record: Any) -> dict[str, Any]:
    """`event_id`, `record_id` and `trace_id` of a record value, when it is JSON enough."""
    try:
        document = json.loads(record.value)
    except (TypeError, ValueError):
        return {}
    if not isinstance(document, dict):
        return {}
    payload = document.get("payload")
    found = {key: document.get(key) for key in ("event_id", "trace_id")}
    if isinstance(payload, dict):
        found["record_id"] = payload.get("record_id")
    return {key: value for key, value in found.items() if isinstance(value, str) and value}


# -- the middleware every subscriber runs under --------------------------------------------


@dataclass(frozen=True)
class DeadLetterRequest:
    """What the dead-letter publisher needs: the original record and why it failed."""

    record: Any
    reason: str
    attempts: int
    trace_id: str | None


PublishDeadLetter = Callable[[DeadLetterRequest], Awaitable[None]]
# EVENTS_FAILED reasons: a dependency was away, a try failed and will be retried,
# the record went to the dead-letter topic.
FAILURE_REASONS = ("dependency", "retrying", "dead_letter")


@dataclass
class DeliveryPolicy:
    """Per-broker state shared by every message's middleware instance."""

    service: str
    publish_dead_letter: PublishDeadLetter
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(max_attempts=3))
    # Back-pressure while a dependency is away: 0.5 s, 1 s, 2 s ... capped.
    outage: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(base_delay_s=0.5, max_delay_s=5.0)
    )
    attempts: dict[tuple[str, int, int], int] = field(default_factory=dict)
    outage_streak: dict[str, int] = field(default_factory=dict)
    seen_topics: set[str] = field(default_factory=set)

    def first_sight(self, topic: str) -> None:
        """Export this topic's failure counters at 0, so rate() and dashboards see them."""
        if topic in self.seen_topics:
            return
        self.seen_topics.add(topic)
        EVENTS_RETRIED.labels(self.service, topic)
        for reason in FAILURE_REASONS:
            EVENTS_FAILED.labels(self.service, topic, reason)

    def middleware(self, msg: Any, /, *, context: ContextRepo) -> DeliveryMiddleware:
        return DeliveryMiddleware(msg, context=context, policy=self)


def _records(msg: Any) -> tuple[Any, ...]:
    return tuple(msg) if isinstance(msg, tuple) else (msg,)


class DeliveryMiddleware(BaseMiddleware):
    """Trace id and source in context, timings, back-pressure and the poison-pill exit.

    It observes `medshare_processing_seconds` per record; a batch subscriber's handler
    observes its batches itself (and `medshare_batch_size`), since it knows what one
    unit of its work is.
    """

    def __init__(self, msg: Any, /, *, context: ContextRepo, policy: DeliveryPolicy):
        super().__init__(msg, context=context)
        self.policy = policy
        self.started = time.perf_counter()
        self.parsed = False  # the record got past FastStream's parser to the handler

    async def consume_scope(self, call_next: Any, msg: Any) -> Any:
        self.parsed = True
        return await call_next(msg)

    @property
    def records(self) -> tuple[Any, ...]:
        return _records(self.msg)

    @property
    def topic(self) -> str:
        records = self.records
        return str(records[0].topic) if records else ""

    async def on_receive(self) -> None:
        self.started = time.perf_counter()
        records = self.records
        if records:
            self.policy.first_sight(str(records[0].topic))
        # One task runs message after message: reset what the last one left behind.
        current_source.set(None)
        current_trace_id.set(None)
        if records and not isinstance(self.msg, tuple):
            record = records[0]
            current_source.set(SourceRecord(record.topic, record.partition, record.offset))
        for record in records:
            trace_id = trace_id_from_traceparent(header(record, "traceparent"))
            if len(records) == 1:
                current_trace_id.set(trace_id)
            log.info(
                "consumed",
                extra={
                    "topic": record.topic,
                    "partition": record.partition,
                    "offset": record.offset,
                    **({"trace_id": trace_id} if trace_id else {}),
                },
            )

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool | None:
        topic, service = self.topic, self.policy.service
        if not isinstance(self.msg, tuple):  # a batch handler times its own batches
            PROCESSING_SECONDS.labels(service, topic).observe(time.perf_counter() - self.started)
        if exc_val is None:
            self.policy.outage_streak.pop(topic, None)
            for record in self.records:
                self.policy.attempts.pop((record.topic, record.partition, record.offset), None)
            return False
        if not isinstance(exc_val, Exception):  # cancellation, exit: hand the record back
            return False
        if is_dependency_error(exc_val):
            await self._back_off(exc_val)
            return False  # not committed: FastStream seeks back and it comes again
        try:
            if not self.parsed:
                # FastStream cannot even parse it (e.g. headers that are not UTF-8), so it
                # cannot seek back to it either: it would be skipped silently. Retrying a
                # parse is pointless; dead-letter it now.
                return await self._dead_letter(f"unreadable record: {describe_error(exc_val)}", 1)
            return await self._failed(exc_val)
        except Exception as error:  # the dead letter itself could not be published
            if not is_dependency_error(error):
                raise
            await self._back_off(error)
            return False

    async def _back_off(self, error: Exception) -> None:
        topic = self.topic
        streak = self.policy.outage_streak.get(topic, 0) + 1
        self.policy.outage_streak[topic] = streak
        EVENTS_RETRIED.labels(self.policy.service, topic).inc()
        EVENTS_FAILED.labels(self.policy.service, topic, "dependency").inc()
        delay = self.policy.outage.delay(streak)
        log.warning(
            "dependency unavailable, pausing before retry",
            extra={"topic": topic, "error": describe_error(error), "delay_s": delay},
        )
        await asyncio.sleep(delay)

    async def _failed(self, error: Exception) -> bool:
        """Retry a few times (the record comes back); then dead-letter it and move on."""
        records, service, topic = self.records, self.policy.service, self.topic
        keys = [(r.topic, r.partition, r.offset) for r in records]
        attempt = max((self.policy.attempts.get(key, 0) for key in keys), default=0) + 1
        reason = str(error) if isinstance(error, PermanentError) else describe_error(error)
        permanent = isinstance(error, PermanentError)
        if not permanent and attempt < self.policy.retry.max_attempts:
            for key in keys:
                self.policy.attempts[key] = attempt
            EVENTS_RETRIED.labels(service, topic).inc()
            EVENTS_FAILED.labels(service, topic, "retrying").inc()
            log.warning("handling failed, will retry", extra={"attempt": attempt, "error": reason})
            await asyncio.sleep(self.policy.retry.delay(attempt))
            return False
        return await self._dead_letter(reason, attempt)

    async def _dead_letter(self, reason: str, attempts: int) -> bool:
        records = self.records
        for record in records:
            await self.policy.publish_dead_letter(
                DeadLetterRequest(record, reason, attempts, current_trace_id.get())
            )
            self.policy.attempts.pop((record.topic, record.partition, record.offset), None)
        EVENTS_FAILED.labels(self.policy.service, self.topic, "dead_letter").inc(len(records))
        log.warning("dead-lettered", extra={"attempts": attempts, "error": reason})
        return True  # handled: the offset is committed past it
