"""The catalog under attack: the integration tests' small world, served by the real app.

`world` (tests/integration/catalog/conftest.py) is reused as is; `guarded` is a
second deployment of the same world whose freeze threshold is 1 (so a dataset
of a few records can be frozen and then have its agreement revoked).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.integration.catalog.conftest import World, build_world, world  # noqa: F401
from tests.integration.catalog.support import catalog_env, running_catalog


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def guarded(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    env = catalog_env(stack_env, Path(tmp_path_factory.mktemp("keys")), MEDSHARE_CATALOG_MIN_K="1")
    async with running_catalog(env) as catalog:
        yield await build_world(catalog)
