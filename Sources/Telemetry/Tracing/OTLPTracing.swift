import Instrumentation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Tracing

/// Starting tracing in a process. Tests build an ``OTLPTracer`` and a ``BatchSpanExportService``
/// themselves; only a binary's `main` calls ``bootstrap(configuration:logger:)``, once.
/// (Not named `Tracing`: a type of that name would shadow the swift-distributed-tracing module
/// in every file that imports both.)
public enum OTLPTracing {
    /// The tracer and the service that exports what it records, wired but not installed.
    public static func make(
        configuration: TracingConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) -> (tracer: OTLPTracer, exporter: BatchSpanExportService) {
        let queue = SpanQueue(capacity: configuration.maxQueueSize, batchSize: configuration.maxExportBatchSize)
        let tracer = OTLPTracer(sampler: configuration.sampler, queue: queue)
        let exporter = OTLPHTTPExporter(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
        let service = BatchSpanExportService(
            queue: queue, exporter: exporter, scheduleDelay: configuration.scheduleDelay,
            shutdownTimeout: configuration.shutdownTimeout, logger: logger
        )
        return (tracer, service)
    }

    /// Installs an ``OTLPTracer`` as the process-wide tracer (`InstrumentationSystem.bootstrap`,
    /// which may run only once per process) and returns the exporter service to add to the
    /// process's `ServiceGroup`; nil, and nothing installed, when `configuration` is nil.
    public static func bootstrap(configuration: TracingConfiguration?, logger: Logger) -> BatchSpanExportService? {
        guard let configuration else { return nil }
        let (tracer, service) = make(configuration: configuration, logger: logger)
        InstrumentationSystem.bootstrap(tracer)
        logger.info(
            "Tracing on",
            metadata: [
                TracingLoggingKeys.endpoint: "\(configuration.endpoint)",
                "otel.sampler": "\(configuration.sampler)",
            ]
        )
        return service
    }

    /// Adds `trace.id` and `span.id` of the task's current span to every log line: pass it as
    /// the `metadataProvider` of `LoggingSystem.bootstrap` (or a `Logger`).
    public static let loggingMetadataProvider = Logger.MetadataProvider {
        guard let ids = ServiceContext.currentTraceIDs() else { return [:] }
        return [TracingLoggingKeys.traceID: "\(ids.traceID)", TracingLoggingKeys.spanID: "\(ids.spanID)"]
    }
}
