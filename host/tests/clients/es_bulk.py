"""Sends documents to opsloop's Elasticsearch-compatible bulk API through opensearch-py, as a
shipper would, with the base URL `<server>/es`.

Environment: URL, TOKEN, MODE, and AUTH (`basic`: the token as Basic auth's password, or
`apikey`: Elasticsearch's `ApiKey base64(id:token)`).

MODE `mixed`: one gzip-compressed bulk call through `helpers.bulk` of COUNT `create` actions
with an `_id`, COUNT `index` actions without one, and two documents with a time the index
cannot hold; prints {"version", "ok", "statuses": {op: [status, ...]}, "errors": [...]}.
MODE `stream`: `create` actions with `_id` `k-<n>` in batches of 200 until COUNT or until the
server stops answering; every id answered 2xx or 409 (stored before) is appended to the file
ACKED, one a line, as soon as its batch is answered.
"""
import base64
import json
import os

from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import ConnectionError, TransportError

url, token = os.environ["URL"], os.environ["TOKEN"]
if os.environ.get("AUTH", "basic") == "apikey":
    key = base64.b64encode(f"shipper-key:{token}".encode()).decode()
    client = OpenSearch(hosts=[url + "/es"], headers={"Authorization": f"ApiKey {key}"}, http_compress=True, timeout=30)
else:
    client = OpenSearch(hosts=[url + "/es"], http_auth=("shipper", token), http_compress=True, timeout=30)
count = int(os.environ["COUNT"])
mode = os.environ["MODE"]

if mode == "mixed":
    version = client.info()["version"]["number"]
    actions = []
    for number in range(count):
        actions.append({"_op_type": "create", "_index": "payments", "_id": f"pay-{number}",
                        "@timestamp": f"2026-03-01T10:{number // 60:02d}:{number % 60:02d}Z",
                        "message": f"bulk payment {number} declined", "log": {"level": "error", "logger": "billing"},
                        "customer": {"id": f"c-{number}"}})
        actions.append({"_op_type": "index", "_index": "web",
                        "@timestamp": f"2026-03-01T11:{number // 60:02d}:{number % 60:02d}Z",
                        "message": f"bulk page {number} served", "log.level": "info", "http.status": 200})
    actions.append({"_op_type": "index", "_index": "web", "@timestamp": "9999-01-01T00:00:00Z", "message": "bulk from far future"})
    actions.append({"_op_type": "index", "_index": "web", "@timestamp": "not a time", "message": "bulk with a bad time"})
    statuses = {}
    ok, errors = 0, []
    for success, item in helpers.streaming_bulk(client, actions, chunk_size=500, raise_on_error=False):
        (op, answer), = item.items()
        statuses.setdefault(op, []).append(answer["status"])
        if success:
            ok += 1
        else:
            errors.append(answer)
    print(json.dumps({"version": version, "ok": ok, "statuses": statuses, "errors": errors}))
elif mode == "stream":
    acked = open(os.environ["ACKED"], "a")
    for start in range(0, count, 200):
        body = []
        for number in range(start, min(start + 200, count)):
            body.append(json.dumps({"create": {"_index": "stream", "_id": f"k-{number}"}}))
            body.append(json.dumps({"message": f"bulk stream k-{number}", "log.level": "info"}))
        try:
            answer = client.bulk(body="\n".join(body) + "\n")
        except (ConnectionError, TransportError):
            break
        for item in answer["items"]:
            if item["create"]["status"] in (200, 201, 409):
                acked.write(item["create"]["_id"] + "\n")
        acked.flush()
    acked.close()
