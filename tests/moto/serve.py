"""moto's server, with DynamoDB's per-item write atomicity and SQS FIFO long polling restored.

moto's threaded server evaluates a write's condition and stores the item without a lock
(moto/dynamodb/models/table.py, Table.put_item: read `current`, build the item, check the
condition, store). Under concurrent writers two conditional puts can both pass the same
`version = :expected` check, so an update is lost; real DynamoDB never allows that. Every
DynamoDB write here runs under one lock.

moto's SQS long poll (moto/sqs/models.py, SQSBackend.receive_message) takes a snapshot of the
FIFO message groups that are in flight when the call starts and keeps it for the whole wait.
A message deleted during the wait does not unlock its group, so the next message of that
group waits out the full 20 s poll; real SQS returns it as soon as the group is free. Here a
long poll is a loop of short receives, each with a fresh view of the groups.

Everything else is moto's own server, unchanged.

Usage: python serve.py -H 127.0.0.1 -p PORT   (the same arguments as moto_server)
"""

import functools
import threading
import time

from moto.dynamodb.models import DynamoDBBackend
from moto.sqs.models import SQSBackend
from moto.server import main

_WRITE_LOCK = threading.RLock()


def _serialised(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _WRITE_LOCK:
            return method(*args, **kwargs)

    return wrapper


def _long_poll(method):
    @functools.wraps(method)
    def wrapper(self, queue_name, count, wait_seconds_timeout, visibility_timeout, *args, **kwargs):
        deadline = time.monotonic() + (wait_seconds_timeout or 0)
        while True:
            result = method(self, queue_name, count, 0, visibility_timeout, *args, **kwargs)
            if result or time.monotonic() >= deadline:
                return result
            time.sleep(0.01)

    return wrapper


SQSBackend.receive_message = _long_poll(SQSBackend.receive_message)

for _name in ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item"):
    setattr(DynamoDBBackend, _name, _serialised(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    main()
