"""OTLP/HTTP protobuf for the tests' collectors: the ExportTraceServiceRequest messages of
opentelemetry/proto (trace/v1, common/v1, resource/v1), declared here as descriptors and parsed
by Debian's python3-protobuf (the real library, not a hand-written decoder), then turned into
the OTLP JSON shape (ids as hex, 64-bit numbers as strings) so one set of assertions reads both
encodings. Imported by tests run with /usr/bin/python3."""
import base64

from google.protobuf import descriptor_pb2, message_factory
from google.protobuf.json_format import MessageToDict

_F = descriptor_pb2.FieldDescriptorProto

# (message, [(field name, number, type, label, type name)]); kind and status code are declared
# as int32 (wire-compatible with the enums) so they read as numbers, as in the JSON encoding.
_MESSAGES = [
    ("AnyValue", [("string_value", 1, _F.TYPE_STRING, None), ("bool_value", 2, _F.TYPE_BOOL, None),
                  ("int_value", 3, _F.TYPE_INT64, None), ("double_value", 4, _F.TYPE_DOUBLE, None)]),
    ("KeyValue", [("key", 1, _F.TYPE_STRING, None), ("value", 2, _F.TYPE_MESSAGE, "AnyValue")]),
    ("Resource", [("attributes", 1, _F.TYPE_MESSAGE, "KeyValue", True),
                  ("dropped_attributes_count", 2, _F.TYPE_UINT32, None)]),
    ("InstrumentationScope", [("name", 1, _F.TYPE_STRING, None),
                              ("version", 2, _F.TYPE_STRING, None)]),
    ("Status", [("message", 2, _F.TYPE_STRING, None), ("code", 3, _F.TYPE_INT32, None)]),
    ("Span", [("trace_id", 1, _F.TYPE_BYTES, None), ("span_id", 2, _F.TYPE_BYTES, None),
              ("trace_state", 3, _F.TYPE_STRING, None), ("parent_span_id", 4, _F.TYPE_BYTES, None),
              ("name", 5, _F.TYPE_STRING, None), ("kind", 6, _F.TYPE_INT32, None),
              ("start_time_unix_nano", 7, _F.TYPE_FIXED64, None),
              ("end_time_unix_nano", 8, _F.TYPE_FIXED64, None),
              ("attributes", 9, _F.TYPE_MESSAGE, "KeyValue", True),
              ("status", 15, _F.TYPE_MESSAGE, "Status")]),
    ("ScopeSpans", [("scope", 1, _F.TYPE_MESSAGE, "InstrumentationScope"),
                    ("spans", 2, _F.TYPE_MESSAGE, "Span", True),
                    ("schema_url", 3, _F.TYPE_STRING, None)]),
    ("ResourceSpans", [("resource", 1, _F.TYPE_MESSAGE, "Resource"),
                       ("scope_spans", 2, _F.TYPE_MESSAGE, "ScopeSpans", True),
                       ("schema_url", 3, _F.TYPE_STRING, None)]),
    ("ExportTraceServiceRequest", [("resource_spans", 1, _F.TYPE_MESSAGE, "ResourceSpans", True)]),
]


def _build():
    f = descriptor_pb2.FileDescriptorProto(name="sluice_test_otlp.proto", package="otlp",
                                           syntax="proto3")
    for name, fields in _MESSAGES:
        m = f.message_type.add(name=name)
        for spec in fields:
            fname, number, ftype, type_name = spec[:4]
            repeated = len(spec) > 4
            fd = m.field.add(name=fname, number=number, type=ftype,
                             label=_F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL)
            if type_name:
                fd.type_name = ".otlp." + type_name
    # AnyValue's members are a oneof, as in common.proto (so a zero int is still sent).
    any_value = f.message_type[0]
    any_value.oneof_decl.add(name="value")
    for fd in any_value.field:
        fd.oneof_index = 0
    return message_factory.GetMessages([f])["otlp.ExportTraceServiceRequest"]


ExportTraceServiceRequest = _build()


def _hex_ids(span):
    for key in ("traceId", "spanId", "parentSpanId"):
        if key in span:
            span[key] = base64.b64decode(span[key]).hex()


def parse(body):
    """(the request as the OTLP JSON document, whether re-serialising it gives the same bytes:
    canonical field order, minimal varints and no unknown fields)."""
    msg = ExportTraceServiceRequest()
    msg.ParseFromString(body)
    doc = MessageToDict(msg)
    for rs in doc.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for sp in ss.get("spans", []):
                _hex_ids(sp)
    return doc, msg.SerializeToString() == body
