"""Avro single-object encoding of Tidings events, from the .avsc files of schemas/avro alone
(docs/producing-events.md):

    C3 01 | CRC-64-AVRO fingerprint of the writer schema's parsing canonical form,
          | 8 bytes little-endian | Avro binary datum

Shared by read_topic.py (decoding what Tidings wrote) and produce.py (writing events for
Tidings to project).
"""

import glob
import io
import json
import os
from dataclasses import dataclass, field

import fastavro

MARKER = b"\xc3\x01"
HEADER_LEN = 10

# CRC-64-AVRO, as the Avro specification defines it ("Schema Fingerprints").
_EMPTY = 0xC15D213AA4D7A795


def _table_entry(byte):
    fingerprint = byte
    for _ in range(8):
        fingerprint = (fingerprint >> 1) ^ (_EMPTY & -(fingerprint & 1))
    return fingerprint


_TABLE = [_table_entry(byte) for byte in range(256)]


def crc64_avro(data):
    fingerprint = _EMPTY
    for byte in data:
        fingerprint = (fingerprint >> 8) ^ _TABLE[(fingerprint ^ byte) & 0xFF]
    return fingerprint


@dataclass(frozen=True)
class SchemaVersion:
    """One `<family>/vN.avsc`, parsed."""

    family: str
    number: int
    schema: dict = field(repr=False)
    fingerprint: int

    @property
    def name(self):
        return f"{self.family}/v{self.number}.avsc"


def load_versions(directory):
    """Every `<family>/vN.avsc` under `directory`, by family, oldest version first."""
    families = {}
    for path in glob.glob(os.path.join(directory, "*", "v*.avsc")):
        family = os.path.basename(os.path.dirname(path))
        number = int(os.path.basename(path)[1:-len(".avsc")])
        with open(path) as file:
            schema = fastavro.parse_schema(json.load(file))
        canonical = fastavro.schema.to_parsing_canonical_form(schema)
        families.setdefault(family, []).append(
            SchemaVersion(family, number, schema, crc64_avro(canonical.encode("utf-8")))
        )
    for versions in families.values():
        versions.sort(key=lambda version: version.number)
    return families


def encode(version, record):
    """`record` (union branches as (full name, value) tuples) as single-object bytes."""
    datum = io.BytesIO()
    fastavro.schemaless_writer(datum, version.schema, record)
    return MARKER + version.fingerprint.to_bytes(8, "little") + datum.getvalue()


def decode(payload, versions_by_fingerprint):
    """The writer version and the record of single-object bytes."""
    if payload[:2] != MARKER:
        raise ValueError("not Avro single-object encoding")
    fingerprint = int.from_bytes(payload[2:HEADER_LEN], "little")
    if fingerprint not in versions_by_fingerprint:
        raise ValueError(f"unknown writer schema fingerprint {fingerprint:#018x}")
    version = versions_by_fingerprint[fingerprint]
    return version, fastavro.schemaless_reader(io.BytesIO(payload[HEADER_LEN:]), version.schema)
