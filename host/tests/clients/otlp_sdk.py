"""Sends log records to opsloop through the OpenTelemetry Python SDK's OTLP/HTTP exporter
(protobuf, gzip), as an instrumented service would. Half of them are logged inside a span.

Environment: URL (the server's base URL), TOKEN (an ingest token), COUNT, SERVICE.
Prints JSON: {"trace_id": the span's trace id in hex, "in_span": [numbers logged in it]}.
"""
import json
import logging
import os

from opentelemetry import trace
from opentelemetry._logs import set_logger_provider
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

count = int(os.environ["COUNT"])
resource = Resource.create({"service.name": os.environ["SERVICE"], "deployment.environment": "test"})
trace.set_tracer_provider(TracerProvider(resource=resource))
provider = LoggerProvider(resource=resource)
set_logger_provider(provider)
exporter = OTLPLogExporter(
    endpoint=os.environ["URL"] + "/v1/logs",
    headers={"Authorization": "Bearer " + os.environ["TOKEN"]},
    compression=Compression.Gzip,
)
provider.add_log_record_processor(BatchLogRecordProcessor(exporter, max_export_batch_size=100))
logger = logging.getLogger("shop.orders")
logger.setLevel(logging.DEBUG)
logger.addHandler(LoggingHandler(level=logging.DEBUG, logger_provider=provider))
levels = [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL]

in_span = []
trace_id = None
tracer = trace.get_tracer("shop")
for number in range(count):
    level = levels[number % len(levels)]
    if number % 2 == 0:
        with tracer.start_as_current_span("checkout") as span:
            trace_id = format(span.get_span_context().trace_id, "032x")
            logger.log(level, "otlp order %d handled", number, extra={"order.id": f"o-{number}"})
            in_span.append(number)
    else:
        logger.log(level, "otlp order %d handled", number, extra={"order.id": f"o-{number}"})
provider.force_flush()
provider.shutdown()
print(json.dumps({"trace_id": trace_id, "in_span": in_span}))
