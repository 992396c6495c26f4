import Logging
import Testing
@testable import Telemetry

@Suite struct ChatterMetricsTests {
    func text(_ metrics: ChatterMetrics) async -> String {
        String(decoding: await metrics.exposition(), as: UTF8.self)
    }

    @Test func requestsAreCountedByRouteTemplateAndStatusClass() async {
        let metrics = ChatterMetrics()
        metrics.requestStarted()
        metrics.requestFinished(method: "GET", route: "/v1/chats/{chat_id}", status: 404, duration: .milliseconds(3))
        metrics.requestStarted()
        metrics.requestFinished(method: "GET", route: "/v1/chats/{chat_id}", status: 200, duration: .milliseconds(30))
        let output = await text(metrics)
        #expect(output.contains(#"chatter_http_requests_total{method="GET",route="/v1/chats/{chat_id}",status_class="4xx"} 1"#))
        #expect(output.contains(#"chatter_http_requests_total{method="GET",route="/v1/chats/{chat_id}",status_class="2xx"} 1"#))
        #expect(output.contains(#"chatter_http_request_duration_seconds_count{method="GET",route="/v1/chats/{chat_id}"} 2"#))
        #expect(output.contains(#"chatter_http_request_duration_seconds_bucket{method="GET",route="/v1/chats/{chat_id}",le="0.005"} 1"#))
        #expect(output.contains("chatter_http_requests_in_flight 0.0"))
    }

    @Test func deliveriesFeedTheLatencyHistogramOncePerSocket() async {
        let metrics = ChatterMetrics()
        metrics.eventsDelivered(type: "message.created", count: 3, sinceCommit: .milliseconds(20))
        metrics.eventsDelivered(type: "chat.updated", count: 2, sinceCommit: nil)
        // A recipient host whose clock runs behind the sender's still records a delivery.
        metrics.eventsDelivered(type: "message.created", count: 1, sinceCommit: .milliseconds(-4))
        metrics.eventsDelivered(type: "message.created", count: 0, sinceCommit: .seconds(9))
        let output = await text(metrics)
        #expect(output.contains(#"chatter_events_delivered_total{type="message.created"} 4"#))
        #expect(output.contains(#"chatter_events_delivered_total{type="chat.updated"} 2"#))
        #expect(output.contains("chatter_delivery_latency_seconds_count 4"))
        #expect(output.contains(#"chatter_delivery_latency_seconds_bucket{le="0.001"} 1"#))
        #expect(output.contains(#"chatter_delivery_latency_seconds_bucket{le="0.025"} 4"#))
    }

    @Test func webSocketSendsFeedTheirOwnHistogram() async {
        let metrics = ChatterMetrics()
        metrics.webSocketSendFinished(after: .microseconds(400))
        metrics.webSocketSendFinished(after: .milliseconds(70))
        let output = await text(metrics)
        #expect(output.contains("chatter_websocket_send_duration_seconds_count 2"))
        #expect(output.contains(#"chatter_websocket_send_duration_seconds_bucket{le="0.001"} 1"#))
        #expect(output.contains(#"chatter_websocket_send_duration_seconds_bucket{le="0.05"} 1"#))
        #expect(output.contains(#"chatter_websocket_send_duration_seconds_bucket{le="0.1"} 2"#))
    }

    @Test func seriesThatRateQueriesNeedExistBeforeTheFirstEvent() async {
        let output = await text(ChatterMetrics(version: "9.9.9"))
        #expect(output.contains(#"chatter_messages_sent_total{transport="http"} 0"#))
        #expect(output.contains(#"chatter_messages_sent_total{transport="websocket"} 0"#))
        for reason in ChatterMetrics.closeReasons {
            #expect(output.contains(#"chatter_websocket_connections_closed_total{reason="\#(reason)"} 0"#))
        }
        #expect(output.contains(#"chatter_build_info{version="9.9.9"} 1"#))
    }

    @Test func webSocketGaugeFollowsOpensAndCloses() async {
        let metrics = ChatterMetrics()
        metrics.webSocketOpened()
        metrics.webSocketOpened()
        metrics.webSocketClosed(reason: "slow_consumer")
        let output = await text(metrics)
        #expect(output.contains("chatter_websocket_connections 1.0"))
        #expect(output.contains("chatter_websocket_connections_opened_total 2"))
        #expect(output.contains(#"chatter_websocket_connections_closed_total{reason="slow_consumer"} 1"#))
    }

    @Test func collectorsRunBeforeEachScrape() async {
        let metrics = ChatterMetrics()
        metrics.addCollector { metrics.outboxBacklog(events: 7, oldestAge: .milliseconds(1500)) }
        metrics.addCollector { metrics.consumerLag(consumer: "notification", topic: "t", events: 12) }
        metrics.addCollector { metrics.databasePool(inUse: 3, waiting: 1, queuedSends: 7) }
        let output = await text(metrics)
        #expect(output.contains("chatter_outbox_backlog_events 7.0"))
        #expect(output.contains("chatter_outbox_oldest_unpublished_age_seconds 1.5"))
        #expect(output.contains(#"chatter_eventlog_consumer_lag_events{consumer="notification",topic="t"} 12.0"#))
        #expect(output.contains("chatter_db_pool_connections_in_use 3.0"))
        #expect(output.contains("chatter_db_pool_waiting_requests 1.0"))
        #expect(output.contains("chatter_db_sends_queued 7.0"))
    }

    @Test func processMetricsComeFromProcSelf() async {
        let output = await text(ChatterMetrics())
        let rss = output.split(separator: "\n").first { $0.hasPrefix("process_resident_memory_bytes ") }
        #expect((rss?.split(separator: " ").last.flatMap { Double($0) } ?? 0) > 1_000_000)
        #expect(output.contains("# TYPE process_cpu_seconds_total counter"))
    }

    @Test func statParsingSurvivesCommandNamesWithSpacesAndParentheses() throws {
        // Fields 3… of proc(5): state, ppid, …, utime (14), stime (15), …, starttime (22), vsize (23), rss (24).
        let fields = (3...30).map { n -> String in
            switch n {
            case 3: "S"
            case 14: "250"
            case 15: "50"
            case 22: "1000"
            case 23: "4096000"
            case 24: "321"
            default: "0"
            }
        }
        let stat = try #require(ProcessMetrics.parseStat("4242 (my (odd) name) " + fields.joined(separator: " ")))
        #expect(stat.utime == 250 && stat.stime == 50 && stat.startTicks == 1000 && stat.vsize == 4_096_000 && stat.rssPages == 321)
        #expect(ProcessMetrics.parseStat("garbage") == nil)
    }
}

@Suite struct TraceExportMetricsTests {
    @Test func exporterHealthIsCountedAcrossScrapes() async throws {
        let metrics = ChatterMetrics()
        let queue = SpanQueue(capacity: 2, batchSize: 10)
        let service = BatchSpanExportService(
            queue: queue, exporter: RecordingExporter(), scheduleDelay: .seconds(3600), logger: Logger(label: "test"))
        metrics.observe(service)
        var text = String(decoding: await metrics.exposition(), as: UTF8.self)
        #expect(text.contains("chatter_trace_spans_exported_total 0"))
        #expect(text.contains("chatter_trace_spans_dropped_total 0"))
        // The exporter is not running: two spans wait, three more find the queue full.
        for index in 0..<5 { queue.enqueue(record("s\(index)")) }
        text = String(decoding: await metrics.exposition(), as: UTF8.self)
        #expect(text.contains("chatter_trace_spans_dropped_total 3"))
        // A scrape adds only what is new.
        text = String(decoding: await metrics.exposition(), as: UTF8.self)
        #expect(text.contains("chatter_trace_spans_dropped_total 3"))
        #expect(text.contains("chatter_trace_spans_failed_total 0"))
    }
}
