import Tracing

/// Encodes spans as an opentelemetry-proto `ExportTraceServiceRequest`
/// (`opentelemetry/proto/collector/trace/v1/trace_service.proto`). Field numbers are those of
/// `trace/v1/trace.proto`, `common/v1/common.proto` and `resource/v1/resource.proto`; the golden
/// test fixture, decoded by the official Python package in `tests/observability`, keeps them honest.
enum OTLPTraceEncoder {
    static func exportRequest(spans: [SpanRecord], resource: TracingResource, scope: InstrumentationScope) -> [UInt8] {
        var request = ProtobufWriter()
        // ExportTraceServiceRequest.resource_spans = 1
        request.messageField(1) { resourceSpans in
            // ResourceSpans.resource = 1 → Resource.attributes = 1
            resourceSpans.messageField(1) { message in
                for attribute in resource.attributes {
                    message.messageField(1) { keyValue(&$0, attribute.key, .string(attribute.value)) }
                }
            }
            // ResourceSpans.scope_spans = 2
            resourceSpans.messageField(2) { scopeSpans in
                // ScopeSpans.scope = 1 → InstrumentationScope(name = 1, version = 2)
                scopeSpans.messageField(1) { message in
                    message.stringField(1, scope.name)
                    message.stringField(2, scope.version)
                }
                // ScopeSpans.spans = 2
                for span in spans {
                    scopeSpans.messageField(2) { encode(span, into: &$0) }
                }
            }
        }
        return request.bytes
    }

    static func encode(_ span: SpanRecord, into message: inout ProtobufWriter) {
        message.bytesField(1, span.context.traceID.bytes)
        message.bytesField(2, span.context.spanID.bytes)
        message.stringField(3, span.context.traceState)
        if let parent = span.parentSpanID { message.bytesField(4, parent.bytes) }
        message.stringField(5, span.name)
        message.varintField(6, kindNumber(span.kind))
        message.fixed64Field(7, span.startNanoseconds)
        message.fixed64Field(8, span.endNanoseconds)
        attributes(&message, field: 9, span.attributes)
        for event in span.events {
            // Span.events = 11 → Event(time_unix_nano = 1, name = 2, attributes = 3)
            message.messageField(11) { event_ in
                event_.fixed64Field(1, event.nanosecondsSinceEpoch)
                event_.stringField(2, event.name)
                attributes(&event_, field: 3, event.attributes)
            }
        }
        for link in span.links {
            // Span.links = 13 → Link(trace_id = 1, span_id = 2, trace_state = 3, attributes = 4)
            message.messageField(13) { link_ in
                link_.bytesField(1, link.context.traceID.bytes)
                link_.bytesField(2, link.context.spanID.bytes)
                link_.stringField(3, link.context.traceState)
                attributes(&link_, field: 4, link.attributes)
            }
        }
        if let status = span.status {
            // Span.status = 15 → Status(message = 2, code = 3: UNSET 0, OK 1, ERROR 2)
            message.messageField(15) { status_ in
                status_.stringField(2, status.message ?? "")
                status_.varintField(3, status.code == .ok ? 1 : 2)
            }
        }
        // Span.flags = 16 (fixed32): the W3C trace flags in the low byte.
        message.fixed32Field(16, UInt32(span.context.flags))
    }

    static func kindNumber(_ kind: SpanKind) -> UInt64 {
        switch kind {
        case .internal: return 1
        case .server: return 2
        case .client: return 3
        case .producer: return 4
        case .consumer: return 5
        }
    }

    /// Sorted by key so that the same span always encodes to the same bytes.
    static func attributes(_ message: inout ProtobufWriter, field: UInt64, _ attributes: SpanAttributes) {
        var pairs: [(String, SpanAttribute)] = []
        attributes.forEach { pairs.append(($0, $1)) }
        for (key, value) in pairs.sorted(by: { $0.0 < $1.0 }) {
            message.messageField(field) { keyValue(&$0, key, value) }
        }
    }

    /// KeyValue(key = 1, value = 2 → AnyValue)
    static func keyValue(_ message: inout ProtobufWriter, _ key: String, _ value: SpanAttribute) {
        message.stringField(1, key)
        message.messageField(2) { anyValue(&$0, value) }
    }

    /// AnyValue(string_value = 1, bool_value = 2, int_value = 3, double_value = 4,
    /// array_value = 5 → ArrayValue(values = 1)). Each member is written even when it holds the
    /// default, since the oneof needs it present.
    static func anyValue(_ message: inout ProtobufWriter, _ value: SpanAttribute) {
        func array(_ values: [SpanAttribute]) {
            message.messageField(5) { arrayValue in
                for element in values { arrayValue.messageField(1) { anyValue(&$0, element) } }
            }
        }
        switch value {
        case .string(let string):
            message.stringField(1, string, always: true)
        case .bool(let bool):
            message.tag(2, .varint)
            message.varint(bool ? 1 : 0)
        case .int32(let int):
            message.tag(3, .varint)
            message.varint(UInt64(bitPattern: Int64(int)))
        case .int64(let int):
            message.tag(3, .varint)
            message.varint(UInt64(bitPattern: int))
        case .double(let double):
            message.tag(4, .fixed64)
            message.fixed64(double.bitPattern)
        case .stringArray(let values): array(values.map { .string($0) })
        case .boolArray(let values): array(values.map { .bool($0) })
        case .int32Array(let values): array(values.map { .int32($0) })
        case .int64Array(let values): array(values.map { .int64($0) })
        case .doubleArray(let values): array(values.map { .double($0) })
        case .stringConvertible(let value):
            message.stringField(1, String(describing: value), always: true)
        case .stringConvertibleArray(let values): array(values.map { .string(String(describing: $0)) })
        default:
            message.stringField(1, String(describing: value), always: true)
        }
    }
}
