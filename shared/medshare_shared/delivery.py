"""The subscriber's delivery settings, in one place for every service.

A record is handled at least once: the offset is committed (NACK_ON_ERROR) only after
the handler returned, i.e. after its outputs were acknowledged by S3, MongoDB or the
broker; an exception seeks back. Retries with backoff, back-pressure during outages and
the dead letter on `records.rejected` come from `DeliveryMiddleware` and its
`DeliveryPolicy` (medshare_shared.consumer), which `medshare_shared.kafka.make_broker`
installs on every broker.
"""

from __future__ import annotations

from typing import Any, Protocol

from faststream import AckPolicy
from faststream.kafka import KafkaBroker


class ConsumerSettings(Protocol):
    consumer_group: str
    consumer_session_timeout_ms: int


ACK_POLICY = AckPolicy.NACK_ON_ERROR
# A consumer group that has committed nothing yet starts at the oldest retained record.
OFFSET_RESET = "earliest"


def group_subscriber(
    broker: KafkaBroker, *topics: str, settings: ConsumerSettings, **options: Any
) -> Any:
    """A subscriber in the service's consumer group, under the delivery guarantee
    (`options`: batching, workers, decoder, AsyncAPI title...). Use it as a decorator."""
    delivery: dict[str, Any] = {
        "group_id": settings.consumer_group,
        "auto_offset_reset": OFFSET_RESET,
        "session_timeout_ms": settings.consumer_session_timeout_ms,
        "ack_policy": ACK_POLICY,
    }
    return broker.subscriber(*topics, **delivery, **options)


def broadcast_subscriber(broker: KafkaBroker, topic: str, **options: Any) -> Any:
    """A subscriber outside any consumer group: every replica hears every record from now
    on and nothing is committed. For notices (a model promotion), never for records."""
    delivery: dict[str, Any] = {
        "group_id": None,
        "auto_offset_reset": "latest",
        "ack_policy": AckPolicy.ACK_FIRST,
    }
    return broker.subscriber(topic, **delivery, **options)
