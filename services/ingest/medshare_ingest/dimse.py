"""The DICOM door for PACS: a C-STORE SCP (pynetdicom).

A PACS pushes instances with C-STORE; each calling AE title must be on the
allow-list, which also names the institution it sends for. Every instance goes
through the same `SubmissionDesk` as HTTP, and the C-STORE answer is success only
once the record is accepted (stored and announced), so the PACS retries otherwise.

pynetdicom runs associations in threads; the desk is async, so each instance is
handed to the service's event loop and the thread waits for the outcome.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Mapping

from pydicom.filewriter import dcmwrite
from pydicom.uid import (
    JPEG2000,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
)
from pynetdicom import AE, AllStoragePresentationContexts, evt
from pynetdicom.transport import ThreadedAssociationServer

from medshare_ingest.submissions import PublishFailed, Submission, SubmissionDesk
from medshare_ingest.validation import InvalidSubmission, validate_dicom

log = logging.getLogger(__name__)

# C-STORE status codes (PS3.4 Annex B).
SUCCESS = 0x0000
REFUSED_OUT_OF_RESOURCES = 0xA700
ERROR_CANNOT_UNDERSTAND = 0xC000
REFUSED_NOT_AUTHORIZED = 0x0124

TRANSFER_SYNTAXES = [
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEG2000Lossless,
    JPEG2000,
    RLELossless,
]
ACCEPT_TIMEOUT_S = 60.0
VERIFICATION_SOP_CLASS = "1.2.840.10008.1.1"


class StoreSCP:
    def __init__(
        self,
        desk: SubmissionDesk,
        loop: asyncio.AbstractEventLoop,
        ae_title: str,
        allowed: Mapping[str, str],
    ):
        self.desk = desk
        self.loop = loop
        self.ae_title = ae_title
        self.allowed = {title.strip(): institution for title, institution in allowed.items()}
        self.server: ThreadedAssociationServer | None = None

    def start(self, host: str, port: int) -> None:
        ae = AE(ae_title=self.ae_title)
        for context in AllStoragePresentationContexts:
            if context.abstract_syntax is not None:
                ae.add_supported_context(context.abstract_syntax, TRANSFER_SYNTAXES)
        ae.add_supported_context(VERIFICATION_SOP_CLASS)
        ae.require_called_aet = True
        self.server = ae.start_server(
            (host, port),
            block=False,
            evt_handlers=[(evt.EVT_C_STORE, self.on_store), (evt.EVT_C_ECHO, self.on_echo)],
        )
        log.info("C-STORE SCP listening", extra={"port": port, "ae_title": self.ae_title})

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server = None

    def on_echo(self, event: evt.Event) -> int:
        return SUCCESS

    def on_store(self, event: evt.Event) -> int:
        calling = event.assoc.requestor.ae_title.strip()
        institution = self.allowed.get(calling)
        if institution is None:
            log.warning("C-STORE from an AE title not on the allow-list")
            return REFUSED_NOT_AUTHORIZED
        data = _part10_bytes(event)
        try:
            validate_dicom(data)
        except InvalidSubmission as error:
            log.info("C-STORE refused", extra={"reason": str(error)})
            return ERROR_CANNOT_UNDERSTAND
        future = asyncio.run_coroutine_threadsafe(
            self.desk.accept(Submission(institution, "dicom", "application/dicom", data)),
            self.loop,
        )
        try:
            future.result(ACCEPT_TIMEOUT_S)
        except (PublishFailed, TimeoutError, OSError) as error:
            log.warning("C-STORE not accepted", extra={"error": type(error).__name__})
            return REFUSED_OUT_OF_RESOURCES
        return SUCCESS


def _part10_bytes(event: evt.Event) -> bytes:
    """The received data set as a Part 10 file (preamble, file meta, data set)."""
    dataset = event.dataset
    dataset.file_meta = event.file_meta
    buffer = io.BytesIO()
    dcmwrite(buffer, dataset, enforce_file_format=True)
    return buffer.getvalue()
