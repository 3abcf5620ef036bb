import protobuf from 'protobufjs';

/**
 * The messages of the OTLP logs and trace export requests (opentelemetry-proto v1, the fields Loam
 * reads; protobufjs skips the others). Field numbers are those of the published .proto files.
 */
const PROTO = `
syntax = "proto3";
package otlp;
message AnyValue {
  oneof value {
    string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
    ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; }
message Resource { repeated KeyValue attributes = 1; }
message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; }
message ScopeLogs { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; }
message LogRecord {
  fixed64 time_unix_nano = 1; fixed64 observed_time_unix_nano = 11; int32 severity_number = 2;
  string severity_text = 3; AnyValue body = 5; repeated KeyValue attributes = 6; fixed32 flags = 8;
  bytes trace_id = 9; bytes span_id = 10; string event_name = 12;
}
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; int32 kind = 6;
  fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9;
  repeated Event events = 11; Status status = 15;
}
message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; }
message Status { string message = 2; int32 code = 3; }
`;

const root = protobuf.parse(PROTO, { keepCase: false }).root;
const LogsRequest = root.lookupType('otlp.ExportLogsServiceRequest');
const TraceRequest = root.lookupType('otlp.ExportTraceServiceRequest');

/** Plain objects in OTLP/JSON's shape: camelCase fields, 64-bit numbers as strings, ids as hex. */
const AS_JSON: protobuf.IConversionOptions = { longs: String, enums: Number, bytes: String, defaults: false, oneofs: false };

function hexIds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(hexIds);
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      (k === 'traceId' || k === 'spanId' || k === 'parentSpanId') && typeof v === 'string'
        ? Buffer.from(v, 'base64').toString('hex')
        : hexIds(v);
  }
  return out;
}

/** Decodes a protobuf OTLP logs or trace export request into OTLP/JSON's shape. */
export function decodeOtlp(kind: 'logs' | 'traces', bytes: Uint8Array): unknown {
  const type = kind === 'logs' ? LogsRequest : TraceRequest;
  return hexIds(type.toObject(type.decode(bytes), AS_JSON));
}
