"""The demo's researcher set-up and its summary of withheld records, on the real servers.

`make demo` runs on the dev profile's ports; these call the functions it calls,
against whichever servers the tests use, with a fresh database and signing key.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from medshare_infra import demo
from medshare_shared.events import RecordQuarantined
from tests.integration.catalog.support import catalog_env, catalog_process


@pytest.mark.asyncio(loop_scope="session")
async def test_demo_leaves_a_researcher_who_can_search(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    env = catalog_env(stack_env, tmp_path)
    process_env = {**os.environ, **env}
    async with catalog_process(env, tmp_path / "logs") as catalog:
        token = await asyncio.to_thread(demo.researcher_access, process_env)
        again = await asyncio.to_thread(demo.researcher_access, process_env)
        assert "\n" not in token and token.count(".") == 2 and again != token
        headers = {"Authorization": f"Bearer {token}"}
        me = (await catalog.http.get("/me", headers=headers)).json()
        assert me["role"] == "researcher" and me["projects"] == [demo.PROJECT]
        # One agreement, however often the demo ran.
        assert me["agreements"] == [
            {"institution": demo.INSTITUTION, "project": demo.PROJECT, "kinds": []}
        ]
        assert (await catalog.http.get("/records", headers=headers)).status_code == 200

        for reason in (
            "burned-in annotation suspected (Modality=US) and clean-pixel-data not enabled",
            "burned-in annotation suspected (Modality=OT) and clean-pixel-data not enabled",
            "verifier found source identifiers in: PatientName\nand more",
        ):
            await catalog.records.fold_quarantined(
                RecordQuarantined(
                    record_id=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
                    institution=demo.INSTITUTION,
                    kind="dicom",
                    stage="anonymizer",
                    reason=reason,
                ),
                uuid.uuid4().hex,
                datetime.now(UTC),
            )
        admin = await asyncio.to_thread(demo.catalog_token, process_env)
        queue = await asyncio.to_thread(demo.review_queue, str(catalog.http.base_url), admin)
        assert queue["total"] == 3


def test_withheld_reasons_are_grouped_and_cut() -> None:
    items = [
        {"release": {"reason": "quarantined: burned-in annotation suspected (Modality=US) x"}},
        {"release": {"reason": "quarantined: burned-in annotation suspected (Modality=OT) x"}},
        {"release": {"reason": "line one\nline two"}},
        {"release": {"reason": "y" * 200}},
    ]
    grouped = demo.withheld_reasons(items, width=50)
    assert grouped[0] == ("quarantined: burned-in annotation suspected x", 2)
    assert ("line one", 1) in grouped
    assert all(len(reason) <= 50 for reason, _ in grouped)
