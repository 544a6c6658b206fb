"""Inference wiring: the model host, the micro-batching consumer, the model-change listener."""

from __future__ import annotations

import asyncio
import contextlib
import cProfile

from fastapi import FastAPI

from medshare_inference.handlers import InferenceHandler
from medshare_inference.models.runtime import configure_threads, inference_device
from medshare_inference.promotions import changes_topic
from medshare_inference.publisher import ResultPublisher
from medshare_inference.registry import ModelRegistry
from medshare_inference.runner import BatchRunner
from medshare_inference.served_models import ModelHost
from medshare_inference.settings import InferenceSettings
from medshare_shared.delivery import broadcast_subscriber, group_subscriber
from medshare_shared.kafka import ensure_topics, make_broker
from medshare_shared.lag import lag_watcher
from medshare_shared.object_store import ObjectStore
from medshare_shared.service import broker_check, create_service_app


def create_app(settings: InferenceSettings) -> FastAPI:
    configure_threads(settings.torch_threads)
    broker = make_broker(settings, client_id="medshare-inference")
    store = ObjectStore.from_settings(settings)
    host = ModelHost(ModelRegistry(store, settings.models_bucket))
    topics = settings.topics
    runner = BatchRunner(store, settings.image_fetch_concurrency)
    publisher = ResultPublisher(settings.kafka_bootstrap, topics.inferred)
    handler = InferenceHandler(host, publisher, topics, runner)
    # An exception seeks back to the batch's start.
    group_subscriber(
        broker,
        topics.deidentified,
        settings=settings,
        batch=True,
        max_records=settings.batch_size,
        batch_timeout_ms=settings.batch_wait_ms,
    )(handler.on_deidentified_batch)
    # Every replica must hear every promotion, from now on.
    broadcast_subscriber(broker, changes_topic(topics))(host.on_model_changed)
    refresher: list[asyncio.Task[None]] = []
    profiler = cProfile.Profile() if settings.profile_file else None

    async def prepare() -> None:
        await ensure_topics(settings, topics.all())
        await ensure_topics(settings, [changes_topic(topics)], partitions=1)
        await store.ensure_bucket(settings.models_bucket)
        await publisher.start()
        await host.refresh()
        refresher.append(asyncio.create_task(host.keep_fresh(settings.model_poll_s)))
        if profiler is not None:  # steady state only: imports and start-up are not the story
            profiler.enable()

    async def stop_background() -> None:
        if profiler is not None and settings.profile_file is not None:
            profiler.disable()
            profiler.dump_stats(settings.profile_file)
        for task in refresher:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await publisher.stop()  # after the consumer stopped: nothing left to publish

    app = create_service_app(
        title="medshare inference",
        broker=broker,
        checks={"kafka": broker_check(broker), "object_store": store.ping},
        startup=[prepare],
        shutdown=[stop_background],
        background=[
            lag_watcher(settings, "inference", settings.consumer_group, [topics.deidentified])
        ],
    )

    @app.get("/models")
    async def served_models() -> dict[str, object]:
        """What this replica serves right now (name -> version, sha256) and where."""
        return {
            "device": str(inference_device()),
            "models": {
                name: {"version": m.manifest.version, "sha256": m.manifest.sha256}
                for name, m in sorted(host.loaded.items())
            },
        }

    return app
