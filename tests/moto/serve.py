"""moto's server, with DynamoDB's per-item write atomicity restored.

moto's threaded server evaluates a write's condition and stores the item without a lock
(moto/dynamodb/models/table.py, Table.put_item: read `current`, build the item, check the
condition, store). Under concurrent writers two conditional puts can both pass the same
`version = :expected` check, so an update is lost; real DynamoDB never allows that. Every
DynamoDB write here runs under one lock. Everything else is moto's own server, unchanged.

Usage: python serve.py -H 127.0.0.1 -p PORT   (the same arguments as moto_server)
"""

import functools
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_WRITE_LOCK = threading.RLock()


def _serialised(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _WRITE_LOCK:
            return method(*args, **kwargs)

    return wrapper


for _name in ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item"):
    setattr(DynamoDBBackend, _name, _serialised(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    main()
