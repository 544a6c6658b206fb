"""`models.changed`: a promotion announced to every running inference replica.

`medshare models promote` moves the production alias in the registry (the source of
truth) and then publishes a ModelChanged event. Every replica reads this small topic
without a consumer group (each must see every change, from the newest offset on) and
reloads its production models at once. A replica that misses the event still picks the
change up at its next alias poll (MEDSHARE_MODEL_POLL_S).

Only the inference package produces and consumes this topic, so it is declared here.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from medshare_shared.events import EventEnvelope, Payload, deterministic_id, envelope
from medshare_shared.kafka import ensure_topics, make_broker, publish_event
from medshare_shared.settings import CommonSettings
from medshare_shared.topics import Topics, TopicSpec

log = logging.getLogger(__name__)

MODELS_CHANGED = TopicSpec(
    "models.changed", "A model's production alias moved: reload it (name, version)."
)
PRODUCER = "models-cli"


class ModelChanged(Payload):
    name: str
    version: str
    alias: str = "production"
    changed_at: datetime


ModelChangedEvent = EventEnvelope[ModelChanged]


def changes_topic(topics: Topics) -> str:
    return topics.name(MODELS_CHANGED)


async def announce_change(settings: CommonSettings, name: str, version: str) -> None:
    """Publish one ModelChanged event (raises if Kafka cannot be reached)."""
    topic = changes_topic(settings.topics)
    changed_at = datetime.now(UTC)
    event = envelope(
        ModelChanged(name=name, version=version, changed_at=changed_at),
        event_type="models.changed",
        producer=PRODUCER,
        event_id=deterministic_id("models.changed", name, version, changed_at.isoformat()),
    )
    await ensure_topics(settings, [topic], partitions=1)
    broker = make_broker(settings, client_id="medshare-models-cli")
    await broker.start()
    try:
        await publish_event(broker, topic, event, key=name, service=PRODUCER)
    finally:
        await broker.stop()
