"""Sends documents through Elasticsearch's official Python client (which checks the
`X-Elastic-Product` header and sends bulk as PUT), with an API key made of the token.

Environment: URL, TOKEN, COUNT. Prints {"version", "first": [ok, errors], "again": [ok, errors]}:
COUNT `index` actions with an `_id`, sent twice (the second time each is a no-op).
"""
import json
import os

from elasticsearch import Elasticsearch, helpers

client = Elasticsearch(os.environ["URL"] + "/es", api_key=("shipper-key", os.environ["TOKEN"]))
count = int(os.environ["COUNT"])
version = client.info()["version"]["number"]
documents = [{"_index": "official", "_id": f"doc-{number}", "@timestamp": "2026-04-01T08:00:00Z",
              "message": f"official client document {number}", "log.level": "warn"} for number in range(count)]
first = helpers.bulk(client, documents, raise_on_error=False)
again = helpers.bulk(client, documents, raise_on_error=False)
print(json.dumps({"version": version, "first": [first[0], len(first[1])], "again": [again[0], len(again[1])]}))
