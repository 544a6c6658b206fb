"""DICOMweb against the world's images: QIDO-RS keys at each level, WADO-RS retrieval.

Only released images of agreements the caller holds are visible; a withheld image
is invisible even to a steward here.
"""

from __future__ import annotations

import hashlib
import io
import re
from typing import Any

import pydicom

from tests.integration.catalog.conftest import World

DICOM_JSON = "application/dicom+json"


def values(item: dict[str, Any], tag: str) -> list[Any]:
    return list(item.get(tag, {}).get("Value", []))


def multipart(content_type: str, body: bytes) -> list[tuple[str, bytes]]:
    boundary = re.search(r"boundary=([^;]+)", content_type)
    assert boundary is not None, content_type
    marker = b"--" + boundary.group(1).strip('"').encode()
    parts = []
    for chunk in body.split(marker)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, payload = chunk.partition(b"\r\n\r\n")
        parts.append((head.decode().strip(), payload[:-2]))  # drop the CRLF before the marker
    return parts


async def qido(world: World, user: str, path: str, **params: Any) -> list[dict[str, Any]]:
    answer = await world.catalog.http.get(
        f"/dicomweb{path}", params=params, headers=world.auth(user)
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith(DICOM_JSON)
    found: list[dict[str, Any]] = answer.json()
    return found


async def test_study_search_and_its_keys(world: World) -> None:
    studies = await qido(world, "alice", "/studies")
    uids = {values(study, "0020000D")[0]: study for study in studies}
    assert len(uids) == 2 and world.study_uid in uids  # north CT study + south MR study
    north = uids[world.study_uid]
    assert values(north, "00080061") == ["CT"]  # ModalitiesInStudy
    assert values(north, "00201206") == [1] and values(north, "00201208") == [2]
    assert values(north, "00081190")[0].endswith(f"/dicomweb/studies/{world.study_uid}")
    assert values(north, "00080020") == ["20210304"]

    by_uid = await qido(world, "alice", "/studies", StudyInstanceUID=world.study_uid)
    assert [values(s, "0020000D")[0] for s in by_uid] == [world.study_uid]
    by_tag = await qido(world, "alice", "/studies", **{"0020000D": world.study_uid})
    assert by_tag == by_uid
    in_2021 = await qido(world, "alice", "/studies", StudyDate="20210101-20211231")
    assert [values(s, "0020000D")[0] for s in in_2021] == [world.study_uid]
    before_2020 = await qido(world, "alice", "/studies", StudyDate="-20191231")
    assert [values(s, "00081030")[0] for s in before_2020] == ["BRAIN MR"]
    assert [
        values(s, "00080061")
        for s in await qido(world, "alice", "/studies", ModalitiesInStudy="MR")
    ] == [["MR"]]
    assert len(await qido(world, "alice", "/studies", PatientName="anon*")) == 2
    assert [
        values(s, "00081030")[0]
        for s in await qido(world, "alice", "/studies", StudyDescription="BRAIN*")
    ] == ["BRAIN MR"]
    first = await qido(world, "alice", "/studies", limit=1)
    second = await qido(world, "alice", "/studies", limit=1, offset=1)
    assert len(first) == len(second) == 1 and first != second


async def test_unknown_and_unsupported_keys(world: World) -> None:
    http = world.catalog.http
    bad = await http.get(
        "/dicomweb/studies", params={"NoSuchKeyword": "1"}, headers=world.auth("alice")
    )
    assert bad.status_code == 400 and bad.json()["detail"] == "NoSuchKeyword is not a DICOM keyword"
    ignored = await http.get(
        "/dicomweb/studies", params={"PatientWeight": "70"}, headers=world.auth("alice")
    )
    assert ignored.status_code == 200 and "PatientWeight" in ignored.headers["warning"]
    assert len(ignored.json()) == 2


async def test_series_and_instances(world: World) -> None:
    series = await qido(world, "alice", f"/studies/{world.study_uid}/series")
    assert len(series) == 1 and values(series[0], "00080060") == ["CT"]
    assert values(series[0], "00201209") == [2]
    series_uid = values(series[0], "0020000E")[0]
    assert await qido(world, "alice", f"/studies/{world.study_uid}/series", Modality="MR") == []
    instances = await qido(
        world, "alice", f"/studies/{world.study_uid}/series/{series_uid}/instances"
    )
    assert [values(i, "00200013") for i in instances] == [[1], [2]]  # InstanceNumber order
    sop = values(instances[1], "00080018")[0]
    one = await qido(
        world,
        "alice",
        f"/studies/{world.study_uid}/series/{series_uid}/instances",
        SOPInstanceUID=sop,
    )
    assert [values(i, "00080018")[0] for i in one] == [sop]
    everywhere = await qido(world, "alice", "/instances", Modality="MR")
    assert len(everywhere) == 1


async def test_wado_retrieves_the_shared_zone_bytes(world: World) -> None:
    http = world.catalog.http
    study = await http.get(
        f"/dicomweb/studies/{world.study_uid}",
        headers={**world.auth("alice"), "Accept": 'multipart/related; type="application/dicom"'},
    )
    assert study.status_code == 200 and study.headers["content-type"].startswith(
        "multipart/related"
    )
    parts = multipart(study.headers["content-type"], study.content)
    assert len(parts) == 2
    expected = {}
    for key in ("north_ct", "north_ct_2"):
        record = (await http.get(f"/records/{world.ids[key]}", headers=world.auth("alice"))).json()
        expected[record["dicom"]["sop_uid"]] = record["object"]["sha256"]
    for head, payload in parts:
        assert head.startswith("Content-Type: application/dicom; transfer-syntax=")
        dataset = pydicom.dcmread(io.BytesIO(payload))
        assert hashlib.sha256(payload).hexdigest() == expected[dataset.SOPInstanceUID]
    record = (
        await http.get(f"/records/{world.ids['north_ct']}", headers=world.auth("alice"))
    ).json()
    series, sop = record["dicom"]["series_uid"], record["dicom"]["sop_uid"]
    single = await http.get(
        f"/dicomweb/studies/{world.study_uid}/series/{series}/instances/{sop}",
        headers=world.auth("alice"),
    )
    assert len(multipart(single.headers["content-type"], single.content)) == 1
    metadata = await http.get(
        f"/dicomweb/studies/{world.study_uid}/series/{series}/instances/{sop}/metadata",
        headers=world.auth("alice"),
    )
    assert metadata.headers["content-type"].startswith(DICOM_JSON)
    [header] = metadata.json()
    assert values(header, "00080018") == [sop] and "7FE00010" not in header  # no pixel data
    study_meta = await http.get(
        f"/dicomweb/studies/{world.study_uid}/metadata", headers=world.auth("alice")
    )
    assert len(study_meta.json()) == 2
    refused = await http.get(
        f"/dicomweb/studies/{world.study_uid}",
        headers={**world.auth("alice"), "Accept": "text/html"},
    )
    assert refused.status_code == 406


async def test_withheld_and_unshared_images_do_not_exist_for_dicomweb(world: World) -> None:
    http = world.catalog.http
    flagged = (
        await http.get(f"/records/{world.ids['north_flagged']}", headers=world.auth("sam"))
    ).json()
    flagged_study = flagged["dicom"]["study_uid"]
    for user in ("alice", "sam", "ada"):
        assert await qido(world, user, "/studies", StudyInstanceUID=flagged_study) == []
        assert (
            await http.get(f"/dicomweb/studies/{flagged_study}", headers=world.auth(user))
        ).status_code == 404
    assert await qido(world, "bob", "/studies", StudyInstanceUID=world.study_uid) == []
    assert (
        await http.get(f"/dicomweb/studies/{world.study_uid}", headers=world.auth("bob"))
    ).status_code == 404
    assert (
        await http.get(f"/dicomweb/studies/{world.study_uid}/metadata", headers=world.auth("bob"))
    ).status_code == 404
    assert len(await qido(world, "bob", "/studies")) == 1  # east's CT only
