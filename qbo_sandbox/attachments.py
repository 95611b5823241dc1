"""Attachments: the /upload multipart format, Attachable rows linked to transactions, and their file bytes."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qbo_sandbox import faults
from qbo_sandbox.faults import QboFault, invalid_property, meta_time

if TYPE_CHECKING:
    from qbo_sandbox.records import CompanyCore

JsonDict = dict[str, Any]
MAX_FILE_BYTES = 100 * 1024 * 1024  # Intuit: uploads up to 100 MB
_PART_NAME = re.compile(r'name="(file_(?:metadata|content)_(\d+))"', re.IGNORECASE)
_FILENAME = re.compile(r'filename="([^"]*)"', re.IGNORECASE)


@dataclass
class UploadedFile:
    """One file of an upload: its metadata part (if any) and its content part."""

    index: str
    metadata: JsonDict | None
    filename: str | None
    content_type: str | None
    data: bytes | None


def parse_multipart(body: bytes, content_type: str) -> list[UploadedFile]:
    """The file_metadata_NN / file_content_NN parts of an upload, tolerant of LF-only bodies.

    python-quickbooks builds its body with bare LF line ends and base64 content; Intuit's own samples and
    the recorded Ruby client use CRLF and binary content. Both are read here.
    """
    match = re.search(r'boundary="?([^";]+)"?', content_type or "", re.IGNORECASE)
    if not match:
        raise faults.unsupported("Operation upload is not supported without a multipart boundary.")
    delimiter = b"--" + match.group(1).strip().encode()
    files: dict[str, UploadedFile] = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk[1:] if chunk.startswith(b"\n") else chunk
        head, separator, content = _split_headers(chunk)
        if not separator:
            continue
        headers = _headers(head)
        disposition = headers.get("content-disposition", "")
        name = _PART_NAME.search(disposition)
        if not name:
            continue
        # The line break before the next delimiter belongs to the delimiter.
        content = content[:-2] if content.endswith(b"\r\n") else content[:-1] if content.endswith(b"\n") else content
        entry = files.setdefault(name.group(2), UploadedFile(name.group(2), None, None, None, None))
        if name.group(1).lower().startswith("file_metadata"):
            try:
                entry.metadata = json.loads(content.decode("utf-8") or "{}")
            except (ValueError, UnicodeDecodeError):
                raise invalid_property(
                    f"Error parsing object: the metadata part {name.group(1)} is not JSON",
                    element="",
                ) from None
            continue
        if headers.get("content-transfer-encoding", "").lower() == "base64":
            try:
                content = base64.b64decode(content)
            except (binascii.Error, ValueError):
                raise faults.required(name.group(1)) from None
        filename = _FILENAME.search(disposition)
        entry.filename = filename.group(1) if filename else None
        entry.content_type = headers.get("content-type")
        entry.data = content
    return [files[key] for key in sorted(files, key=lambda k: int(k))]


def _split_headers(chunk: bytes) -> tuple[bytes, bytes, bytes]:
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, rest = chunk.partition(separator)
        if found:
            return head, found, rest
    return chunk, b"", b""


def _headers(head: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(":")
        if value:
            out[key.strip().lower()] = value.strip()
    return out


class Attachments:
    """Attachable operations on one company (the caller holds the store lock)."""

    def __init__(self, company: CompanyCore):
        self.company = company
        self.realm = company.realm

    def _check_links(self, refs: object) -> list[JsonDict]:
        """AttachableRef entries; a link to something the company does not have is 6000, as recorded."""
        out = []
        for ref in refs if isinstance(refs, list) else []:
            entity_ref = ref.get("EntityRef") if isinstance(ref, dict) else None
            if not isinstance(entity_ref, dict):
                continue
            kind, value = str(entity_ref.get("type", "")), str(entity_ref.get("value", ""))
            if self.realm.get(kind, value) is None:
                # Recorded attachment/error_estimate, word for word.
                raise faults.business(
                    f"The entity {kind} {value} that you are trying to link does not exist. {kind} {value}"
                )
            out.append(
                {
                    "EntityRef": {"value": value, "type": kind},
                    "IncludeOnSend": bool(ref.get("IncludeOnSend", False)),
                }
            )
        return out

    def _row(self, metadata: JsonDict, old: JsonDict | None) -> JsonDict:
        row: JsonDict = {k: v for k, v in (old or {}).items() if k not in ("MetaData",)}
        for key in ("FileName", "Note", "Category", "ContentType", "Lat", "Long", "PlaceName", "Tag"):
            if metadata.get(key) not in (None, ""):
                row[key] = metadata[key]
        if "AttachableRef" in metadata or old is None:
            row["AttachableRef"] = self._check_links(metadata.get("AttachableRef"))
        return row

    def create_or_update(self, body: JsonDict) -> JsonDict:
        """POST /attachable: a note, or new metadata for an existing attachment."""
        row_id = body.get("Id")
        if row_id in (None, ""):
            if not body.get("Note") and not body.get("FileName"):
                raise faults.required("Note")
            row = self.company._stamp_new("Attachable", self._row(body, None))
        else:
            old = self.company._existing("Attachable", body)
            self.company._check_sync_token("Attachable", old, body)
            row = self.company._stamp_update(old, self._row(body, old))
        self.realm.table("Attachable")[row["Id"]] = row
        return row

    def delete(self, body: JsonDict) -> JsonDict:
        """POST /attachable?operation=delete; the recorded request sends only the Id (no SyncToken)."""
        old = self.company._existing("Attachable", body)
        if body.get("SyncToken") not in (None, ""):
            self.company._check_sync_token("Attachable", old, body)
        del self.realm.table("Attachable")[old["Id"]]
        self.realm.files.pop(old["Id"], None)
        self.realm.deleted.setdefault("Attachable", {})[old["Id"]] = {
            "domain": "QBO",
            "status": "Deleted",
            "Id": old["Id"],
            "MetaData": {"LastUpdatedTime": meta_time()},
        }
        return {"domain": "QBO", "status": "Deleted", "Id": old["Id"]}

    def upload(self, files: list[UploadedFile], base_url: str) -> list[JsonDict]:
        """POST /upload: one AttachableResponse entry per file, a Fault entry for a file that fails."""
        out: list[JsonDict] = []
        for file in files:
            try:
                if file.data is None:
                    raise faults.required(f"file_content_{file.index}")
                if len(file.data) > MAX_FILE_BYTES:
                    raise faults.business("The file is larger than the 100 MB QuickBooks accepts.")
                metadata = dict(file.metadata or {})
                metadata.setdefault("FileName", file.filename or f"attachment_{file.index}")
                metadata.setdefault("ContentType", file.content_type or "application/octet-stream")
                row = self.company._stamp_new("Attachable", self._row(metadata, None))
                row["Size"] = len(file.data)
                row["FileAccessUri"] = f"/v3/company/{self.realm.realm_id}/download/{row['Id']}"
                self.realm.table("Attachable")[row["Id"]] = row
                self.realm.files[row["Id"]] = file.data
                out.append({"Attachable": self.with_download_link(row, base_url)})
            except QboFault as fault:
                out.append({"Fault": fault.fault_dict()})
        return out

    def with_download_link(self, row: JsonDict, base_url: str) -> JsonDict:
        """An attachable as read: files get a fresh TempDownloadUri (a presigned link, as Intuit's S3 one)."""
        if row["Id"] not in self.realm.files:
            return row
        name = row.get("FileName", "file")
        link = f"{base_url}/_sandbox/files/{self.realm.realm_id}/{row['Id']}/{name}"
        return {**row, "TempDownloadUri": link}

    def file(self, row_id: str) -> tuple[bytes, str, str]:
        """The bytes, content type and file name of an uploaded attachment (610 when there is none)."""
        row = self.realm.get("Attachable", row_id)
        if row is None or row_id not in self.realm.files:
            raise faults.not_found()
        return self.realm.files[row_id], str(row.get("ContentType") or "application/octet-stream"), str(
            row.get("FileName") or "file"
        )
