"""Reads Tidings events from a Kafka topic with a third-party Avro reader (fastavro),
given only the .avsc files of schemas/avro, and prints each as a JSON line.

Each record is Avro single-object encoded: C3 01, the 8-byte little-endian CRC-64-AVRO
fingerprint of the writer schema, then the binary datum. The writer schema is found by
fingerprint among every shipped schema version.

    python read_topic.py --bootstrap 127.0.0.1:9092 --topic tidings.mailbox --count 1
"""

import argparse
import glob
import io
import json
import os
import sys

import fastavro
from confluent_kafka import Consumer

SCHEMAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schemas", "avro")


def shipped_schemas():
    """Every shipped schema version, by the fingerprint of its canonical form."""
    by_fingerprint = {}
    for path in glob.glob(os.path.join(SCHEMAS, "*", "v*.avsc")):
        with open(path) as file:
            parsed = fastavro.parse_schema(json.load(file))
        canonical = fastavro.schema.to_parsing_canonical_form(parsed)
        # fastavro gives the fingerprint's bytes as they go on the wire (little-endian).
        fingerprint = bytes.fromhex(fastavro.schema.fingerprint(canonical, "CRC-64-AVRO"))
        by_fingerprint[int.from_bytes(fingerprint, "little")] = (os.path.relpath(path, SCHEMAS), parsed)
    return by_fingerprint


def decode(payload, schemas):
    if payload[:2] != b"\xc3\x01":
        raise ValueError("not Avro single-object encoding")
    fingerprint = int.from_bytes(payload[2:10], "little")
    if fingerprint not in schemas:
        raise ValueError(f"unknown writer schema fingerprint {fingerprint:#018x}")
    name, schema = schemas[fingerprint]
    return name, fastavro.schemaless_reader(io.BytesIO(payload[10:]), schema)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()

    schemas = shipped_schemas()
    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": f"interop-{os.getpid()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe([args.topic])
    read = 0
    try:
        while read < args.count:
            message = consumer.poll(args.timeout)
            if message is None:
                sys.exit(f"timed out after {read} of {args.count} records on {args.topic}")
            if message.error():
                sys.exit(f"kafka error: {message.error()}")
            name, record = decode(message.value(), schemas)
            print(json.dumps({"schema": name, "key": message.key().decode(), "record": record}, default=str))
            read += 1
    finally:
        consumer.close()


if __name__ == "__main__":
    main()
