"""Sends log records to opsloop's Loki push API through python-logging-loki, which posts one
JSON push per record (Loki's JSON encoding), authenticating with Basic auth.

Environment: URL (the server's base URL), TOKEN (an ingest token), COUNT.
Record n is logged at DEBUG, INFO, WARNING or ERROR (n % 4) with the tag `order=o-<n>`.
"""
import json
import logging
import os

import logging_loki

handler = logging_loki.LokiHandler(
    url=os.environ["URL"] + "/loki/api/v1/push",
    tags={"service_name": "billing"},
    auth=("shipper", os.environ["TOKEN"]),
    version="1",
)
logger = logging.getLogger("billing.invoices")
logger.setLevel(logging.DEBUG)
logger.addHandler(handler)
failures = []
handler.handleError = lambda record: failures.append(record.getMessage())
levels = [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR]
count = int(os.environ["COUNT"])
for number in range(count):
    logger.log(levels[number % 4], "loki invoice %d sent", number, extra={"tags": {"order": f"o-{number}"}})
if failures:
    raise SystemExit(f"{len(failures)} pushes failed, e.g. {failures[0]}")
print(json.dumps({"sent": count}))
