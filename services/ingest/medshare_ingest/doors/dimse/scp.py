"""The DICOM door for PACS: a C-STORE SCP (pynetdicom).

A PACS pushes instances with C-STORE. The calling AE title must be on the
allow-list, which also names the institution it sends for: other callers are
refused at association time. A title is only a name the caller picks, so each can
be bound to the addresses its PACS calls from (`peers`); a bound title called from
elsewhere is refused. Only the accepted SOP classes and transfer syntaxes
are offered in negotiation. Every instance goes through the same `SubmissionDesk`
as HTTP, and the C-STORE answer is success only once the record is accepted
(stored and announced); otherwise it is a failure status, so the PACS retries.

pynetdicom runs associations in threads; the desk is async, so each instance is
handed to the service's event loop and the thread waits (bounded) for the outcome.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Mapping, Sequence

from pydicom.dataset import Dataset
from pynetdicom import AE, evt
from pynetdicom.transport import ThreadedAssociationServer

from medshare_ingest.limits import IngestLimits, InvalidSubmission, RefusalKind
from medshare_ingest.metrics import INGEST_SUBMISSIONS
from medshare_ingest.submissions import NotAccepted, Submission, SubmissionDesk
from medshare_ingest.validation import validate_dicom

log = logging.getLogger(__name__)

# C-STORE status codes (PS3.4 Annex B, PS3.7 Annex C).
SUCCESS = 0x0000
REFUSED_NOT_AUTHORIZED = 0x0124
REFUSED_SOP_CLASS_NOT_SUPPORTED = 0x0122
REFUSED_OUT_OF_RESOURCES = 0xA700
ERROR_DATA_SET_MISMATCH = 0xA900
ERROR_CANNOT_UNDERSTAND = 0xC000
ERROR_TOO_LARGE = 0xC001  # a "cannot understand" code: the PACS must not retry as is
STATUS_FOR_REFUSAL: dict[RefusalKind, int] = {
    "too_large": ERROR_TOO_LARGE,
    "unsupported": ERROR_CANNOT_UNDERSTAND,
    "unsupported_sop_class": REFUSED_SOP_CLASS_NOT_SUPPORTED,
    "unsupported_transfer_syntax": ERROR_CANNOT_UNDERSTAND,
    "invalid": ERROR_CANNOT_UNDERSTAND,
}
VERIFICATION_SOP_CLASS = "1.2.840.10008.1.1"


class StoreSCP:
    def __init__(
        self,
        desk: SubmissionDesk,
        loop: asyncio.AbstractEventLoop,
        ae_title: str,
        allowed: Mapping[str, str],
        limits: IngestLimits | None = None,
        accept_timeout_s: float = 75.0,
        peers: Mapping[str, Sequence[str]] | None = None,
    ):
        self.desk = desk
        self.loop = loop
        self.ae_title = ae_title
        self.allowed = {title.strip(): institution for title, institution in allowed.items()}
        self.limits = limits or IngestLimits()
        self.accept_timeout_s = accept_timeout_s
        # AE title -> networks it may call from; a title not listed is taken from anywhere.
        self.peers = {
            title.strip(): [ipaddress.ip_network(net, strict=False) for net in networks]
            for title, networks in (peers or {}).items()
        }
        self.server: ThreadedAssociationServer | None = None

    def start(self, host: str, port: int) -> int:
        """Listen on host:port (port 0: any free port); returns the port."""
        ae = AE(ae_title=self.ae_title)
        syntaxes = sorted(self.limits.transfer_syntaxes)
        for sop_class in sorted(self.limits.accepted_sop_classes):
            ae.add_supported_context(sop_class, syntaxes)
        ae.add_supported_context(VERIFICATION_SOP_CLASS)
        ae.require_called_aet = True
        if not self.allowed:
            raise ValueError("the C-STORE SCP needs an allow-list of calling AE titles")
        # Callers not on the allow-list are rejected at association (pynetdicom treats an
        # empty list as "anyone", hence the check above); on_store checks again.
        ae.require_calling_aet = sorted(self.allowed)
        ae.maximum_associations = 64
        server = ae.start_server(
            (host, port),
            block=False,
            evt_handlers=[
                (evt.EVT_CONN_OPEN, self.on_connect),
                (evt.EVT_C_STORE, self.on_store),
                (evt.EVT_C_ECHO, self.on_echo),
            ],
        )
        assert server is not None  # block=False returns the running server
        self.server = server
        bound: int = server.server_address[1]
        log.info("C-STORE SCP listening", extra={"port": bound, "ae_title": self.ae_title})
        return bound

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server = None

    def on_connect(self, event: evt.Event) -> None:
        # Responses are small writes: without TCP_NODELAY each can wait out a delayed ACK.
        transport = event.assoc.dul.socket
        if transport is not None and transport.socket is not None:
            transport.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def peer_allowed(self, calling: str, address: str) -> bool:
        networks = self.peers.get(calling)
        if networks is None:
            return True
        try:
            peer = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(peer in network for network in networks)

    def on_echo(self, event: evt.Event) -> int:
        return SUCCESS

    def on_store(self, event: evt.Event) -> Dataset:
        calling = event.assoc.requestor.ae_title.strip()
        institution = self.allowed.get(calling)
        if institution is None:
            INGEST_SUBMISSIONS.labels("dimse", "refused").inc()
            return _status(REFUSED_NOT_AUTHORIZED, "calling AE title not on the allow-list")
        if not self.peer_allowed(calling, str(event.assoc.requestor.address)):
            INGEST_SUBMISSIONS.labels("dimse", "refused").inc()
            log.warning("C-STORE refused: AE title called from an address not bound to it")
            return _status(REFUSED_NOT_AUTHORIZED, "calling AE title not allowed from this host")
        data = event.encoded_dataset(include_meta=True)  # the bytes as sent, not re-encoded
        try:
            facts = validate_dicom(data, self.limits)
        except InvalidSubmission as error:
            INGEST_SUBMISSIONS.labels("dimse", "refused").inc()
            log.info("C-STORE refused", extra={"reason": str(error)})
            return _status(STATUS_FOR_REFUSAL[error.kind], str(error))
        if facts.sop_class_uid != str(event.request.AffectedSOPClassUID):
            INGEST_SUBMISSIONS.labels("dimse", "refused").inc()
            return _status(ERROR_DATA_SET_MISMATCH, "SOP Class UID differs from the request's")
        future = asyncio.run_coroutine_threadsafe(
            self.desk.accept(
                Submission(institution, "dicom", "application/dicom", data, door="dimse")
            ),
            self.loop,
        )
        try:
            accepted = future.result(self.accept_timeout_s)
        except (NotAccepted, TimeoutError) as error:
            future.cancel()
            INGEST_SUBMISSIONS.labels("dimse", "unavailable").inc()
            log.warning("C-STORE not accepted", extra={"error": type(error).__name__})
            return _status(REFUSED_OUT_OF_RESOURCES, "not stored: a dependency is unavailable")
        INGEST_SUBMISSIONS.labels("dimse", "duplicate" if accepted.duplicate else "accepted").inc()
        return _status(SUCCESS)


def _status(code: int, comment: str | None = None) -> Dataset:
    """A C-STORE response status, with an ErrorComment (LO, 64 chars) saying why."""
    status = Dataset()
    status.Status = code
    if comment:
        status.ErrorComment = comment[:64]
    return status
