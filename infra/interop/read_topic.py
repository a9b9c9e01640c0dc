"""Reads Tidings events from a Kafka topic with a third-party Avro reader (fastavro),
given only the .avsc files of schemas/avro, and prints each as a JSON line.

Each record is Avro single-object encoded (single_object.py); the writer schema is found
by fingerprint among every shipped schema version.

    python read_topic.py --bootstrap 127.0.0.1:9092 --topic tidings.mailbox --count 1
"""

import argparse
import json
import os
import sys

from confluent_kafka import Consumer

import single_object

SCHEMAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schemas", "avro")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--schemas", default=SCHEMAS, help="the schemas/avro directory")
    args = parser.parse_args()

    by_fingerprint = {
        version.fingerprint: version
        for versions in single_object.load_versions(args.schemas).values()
        for version in versions
    }
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
            version, record = single_object.decode(message.value(), by_fingerprint)
            print(json.dumps({"schema": version.name, "key": message.key().decode(), "record": record}, default=str))
            read += 1
    finally:
        consumer.close()


if __name__ == "__main__":
    main()
