"""A business server producing Tidings events onto Kafka itself, given only the .avsc files
of schemas/avro (docs/producing-events.md), with a third-party Avro writer (fastavro) and
Kafka client (confluent-kafka). Prints each record it wrote as a JSON line: topic,
partition, offset, key, the payload in hex and the record (null for the invalid ones).

    python produce.py --bootstrap 127.0.0.1:9092 --prefix tidings deliver --app 7 --uid 42 \\
        --dedupe-key k:5:order-1 --body '{"from_uid": 5, "to_uid": 42, "contacter": 5,
        "category": 0, "type": 0, "priority": 0, "business_type": 0, "msgkey": "order-1",
        "content": "hello", "expire_at_s": 0}'
    python produce.py ... broadcast --app 7 --broadcast-id 1001 --content '{...BroadcastContent}'
    python produce.py ... invalid --app 7 --uid 42

`deliver` writes one delivery; `broadcast` creates a broadcast and publishes it; `invalid`
writes three records the projector must dead-letter (garbage, an unknown writer schema,
a delivery without a dedupe key) to the mailbox's partition.
"""

import argparse
import json
import os
import sys
import time

from confluent_kafka import Producer

import single_object

SCHEMAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schemas", "avro")
NAMESPACE = "dev.tidings.events"


def now_us():
    return time.time_ns() // 1000


class EventProducer:
    """Produces single-object encoded events, durably: acks=all, idempotent, and keyed with
    the partitioner Tidings uses (Java's murmur2), so a mailbox's events share one partition
    with those ingest writes."""

    def __init__(self, bootstrap, schemas):
        self.newest = {family: versions[-1] for family, versions in single_object.load_versions(schemas).items()}
        self.kafka = Producer({
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "enable.idempotence": True,
            "partitioner": "murmur2_random",
        })
        self.written = []
        self.failures = []

    def require_topics(self, *topics):
        """Tidings creates its topics (partitions, retention that keeps history); a producer
        must not let the broker auto-create one with its own defaults."""
        existing = self.kafka.list_topics(timeout=10).topics
        missing = [topic for topic in topics if topic not in existing]
        if missing:
            sys.exit(f"topics {missing} do not exist: start Tidings on this cluster first, it creates them")

    def event(self, topic, key, family, record):
        self.raw(topic, key, single_object.encode(self.newest[family], record), record)

    def raw(self, topic, key, payload, record=None):
        written = {"topic": topic, "key": key, "payload": payload.hex(), "record": record}
        self.written.append(written)

        def on_delivery(error, message):
            if error is not None:
                self.failures.append(f"{topic} {key}: {error}")
            else:
                written.update(partition=message.partition(), offset=message.offset())

        self.kafka.produce(topic, key=key.encode(), value=payload, on_delivery=on_delivery)

    def finish(self):
        """Waits for every delivery report, then prints what was written."""
        remaining = self.kafka.flush(60)
        if remaining or self.failures:
            sys.exit(f"{remaining} records undelivered, failures: {self.failures}")
        for written in self.written:
            print(json.dumps(written))


def mailbox_key(app_id, uid):
    return f"m:{app_id}:{uid}"


def delivered(app_id, uid, dedupe_key, create_time_us, body):
    """A MailboxEvent of branch Delivered: one message for one mailbox. The projector stamps
    its msg_id."""
    delivery = {
        "mailbox": {"app_id": app_id, "uid": uid},
        "dedupe_key": dedupe_key,
        "create_time_us": create_time_us,
        "body": body,
        # Only ingest's own sends are recallable (the recall index is built from this).
        "send": None,
    }
    return {"event": (f"{NAMESPACE}.Delivered", delivery)}


def deliver(producer, topics, args):
    producer.require_topics(topics["mailbox"])
    create_time_us = args.create_time_us or now_us()
    record = delivered(args.app, args.uid, args.dedupe_key, create_time_us, json.loads(args.body))
    producer.event(topics["mailbox"], mailbox_key(args.app, args.uid), "mailbox_event", record)


def broadcast(producer, topics, args):
    """Created (the draft is revision 1), then the publish that makes revision 2."""
    producer.require_topics(topics["broadcast"])
    key = f"b:{args.app}"
    created = {"broadcast_id": args.broadcast_id, "content": json.loads(args.content)}
    published = {"broadcast_id": args.broadcast_id, "revision": 2, "action": "publish"}
    for branch, change in [("Created", created), ("Lifecycle", published)]:
        record = {"app_id": args.app, "at_us": now_us(), "change": (f"{NAMESPACE}.{branch}", change)}
        producer.event(topics["broadcast"], key, "broadcast_event", record)


def invalid(producer, topics, args):
    producer.require_topics(topics["mailbox"])
    key = mailbox_key(args.app, args.uid)
    body = {"from_uid": 1, "to_uid": args.uid, "contacter": 1, "category": 0, "type": 0, "priority": 0,
            "business_type": 0, "msgkey": "", "content": "invalid", "expire_at_s": 0}
    producer.raw(topics["mailbox"], key, b"not an avro record")
    schema = producer.newest["mailbox_event"]
    valid = single_object.encode(schema, delivered(args.app, args.uid, "k:1:invalid", now_us(), body))
    # As if written with an .avsc edited locally, which Tidings never shipped.
    unknown_fingerprint = valid[:2] + bytes(byte ^ 0xFF for byte in valid[2:10]) + valid[10:]
    producer.raw(topics["mailbox"], key, unknown_fingerprint)
    producer.event(topics["mailbox"], key, "mailbox_event", delivered(args.app, args.uid, "", now_us(), body))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--prefix", default="tidings", help="the deployment's topics.prefix")
    parser.add_argument("--schemas", default=SCHEMAS, help="the schemas/avro directory")
    commands = parser.add_subparsers(dest="command", required=True)

    deliver_args = commands.add_parser("deliver", help="one delivery to a mailbox")
    deliver_args.add_argument("--app", type=int, required=True)
    deliver_args.add_argument("--uid", type=int, required=True)
    deliver_args.add_argument("--dedupe-key", required=True, help="the same key twice delivers once")
    deliver_args.add_argument("--create-time-us", type=int, help="default: now")
    deliver_args.add_argument("--body", required=True, help="the MessageBody record, as JSON")
    deliver_args.set_defaults(run=deliver)

    broadcast_args = commands.add_parser("broadcast", help="create a broadcast and publish it")
    broadcast_args.add_argument("--app", type=int, required=True)
    broadcast_args.add_argument("--broadcast-id", type=int, required=True)
    broadcast_args.add_argument("--content", required=True, help="the BroadcastContent record, as JSON")
    broadcast_args.set_defaults(run=broadcast)

    invalid_args = commands.add_parser("invalid", help="three records the projector dead-letters")
    invalid_args.add_argument("--app", type=int, required=True)
    invalid_args.add_argument("--uid", type=int, required=True)
    invalid_args.set_defaults(run=invalid)

    args = parser.parse_args()
    topics = {name: f"{args.prefix}.{name}" for name in ["mailbox", "broadcast"]}
    producer = EventProducer(args.bootstrap, args.schemas)
    args.run(producer, topics, args)
    producer.finish()


if __name__ == "__main__":
    main()
