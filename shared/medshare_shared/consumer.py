"""How every consumer handles an event: bounded retries, then a dead letter.

Errors fall in two kinds:
- a dependency is unreachable (object store, MongoDB, broker): retrying later will
  work, so the handler raises and FastStream seeks back (the offset is not
  committed). The consumer pauses on that record instead of dropping it.
- anything else (bad input, a bug): after `max_attempts` tries with backoff the
  event goes to `records.rejected` with the stage, the error and a reference to the
  original, and the consumer moves on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError
from minio.error import MinioException
from pymongo.errors import ConnectionFailure, ServerSelectionTimeoutError
from urllib3.exceptions import HTTPError as Urllib3HTTPError

log = logging.getLogger(__name__)

DEPENDENCY_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    OSError,
    KafkaConnectionError,
    KafkaTimeoutError,
    ConnectionFailure,
    ServerSelectionTimeoutError,
    Urllib3HTTPError,
    MinioException,
)


class PermanentError(Exception):
    """The input can never be processed; dead-letter it without retrying.

    The message must not contain record content (it ends up on a topic and in logs).
    """


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    base_delay_s: float = 0.2
    max_delay_s: float = 5.0


DeadLetter = Callable[[str, int], Awaitable[None]]


async def handle_with_retries(
    work: Callable[[], Awaitable[None]],
    *,
    dead_letter: DeadLetter,
    policy: RetryPolicy | None = None,
) -> None:
    """Run `work`; dead-letter it (reason, attempts) when it keeps failing for its own sake."""
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
        except DEPENDENCY_ERRORS as error:
            # Back-pressure: leave the offset uncommitted and let the record come back.
            log.warning("dependency unavailable, will retry", extra={"error": type(error).__name__})
            await asyncio.sleep(policy.base_delay_s * 5)
            raise
        except Exception as error:
            if attempt >= policy.max_attempts:
                await dead_letter(f"{type(error).__name__}: {error}", attempt)
                return
            delay = min(policy.max_delay_s, policy.base_delay_s * 2 ** (attempt - 1))
            await asyncio.sleep(delay)
