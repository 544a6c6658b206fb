"""Inference wiring: the model host, the micro-batching consumer."""

from __future__ import annotations

import asyncio
import contextlib
import os

import torch
from fastapi import FastAPI
from faststream import AckPolicy

from medshare_inference.handlers import InferenceHandler
from medshare_inference.host import ModelHost
from medshare_inference.registry import ModelRegistry
from medshare_inference.settings import InferenceSettings
from medshare_shared.kafka import ensure_topics, make_broker
from medshare_shared.lag import lag_watcher
from medshare_shared.object_store import ObjectStore
from medshare_shared.service import broker_check, create_service_app

MODEL_REFRESH_S = 10.0


def create_app(settings: InferenceSettings) -> FastAPI:
    torch.set_num_threads(settings.torch_threads or min(2, os.cpu_count() or 1))
    broker = make_broker(settings, client_id="medshare-inference")
    store = ObjectStore.from_settings(settings)
    host = ModelHost(ModelRegistry(store, settings.models_bucket))
    topics = settings.topics
    handler = InferenceHandler(host, broker, topics)
    broker.subscriber(
        topics.deidentified,
        group_id=settings.consumer_group,
        auto_offset_reset="earliest",
        session_timeout_ms=settings.consumer_session_timeout_ms,
        batch=True,
        max_records=settings.batch_size,
        batch_timeout_ms=settings.batch_wait_ms,
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )(handler.on_deidentified_batch)
    refresher: list[asyncio.Task[None]] = []

    async def prepare() -> None:
        await ensure_topics(settings, topics.all())
        await store.ensure_bucket(settings.models_bucket)
        await host.refresh()
        refresher.append(asyncio.create_task(host.keep_fresh(MODEL_REFRESH_S)))

    async def stop_refresher() -> None:
        for task in refresher:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return create_service_app(
        title="medshare inference",
        broker=broker,
        checks={"kafka": broker_check(broker), "object_store": store.ping},
        startup=[prepare],
        shutdown=[stop_refresher],
        background=[
            lag_watcher(settings, "inference", settings.consumer_group, [topics.deidentified])
        ],
    )
