import Testing

@testable import Telemetry

@Suite struct ConfigurationTests {
    @Test func offUnlessAnEndpointIsSet() throws {
        #expect(try TracingConfiguration(environment: [:]) == nil)
        #expect(try TracingConfiguration(environment: ["OTEL_SERVICE_NAME": "x"]) == nil)
        let on = ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"]
        #expect(try TracingConfiguration(environment: on) != nil)
        #expect(try TracingConfiguration(environment: on.merging(["OTEL_SDK_DISABLED": "true"]) { $1 }) == nil)
        #expect(try TracingConfiguration(environment: on.merging(["OTEL_TRACES_EXPORTER": "none"]) { $1 }) == nil)
    }

    @Test func defaults() throws {
        let configuration = try #require(try TracingConfiguration(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"]))
        #expect(configuration.endpoint == .init(host: "collector", port: 4318, path: "/v1/traces"))
        #expect(configuration.serviceName == "chatter")
        #expect(configuration.exportTimeout == .seconds(10))
        #expect(configuration.sampler == .parentBasedAlwaysOn)
        #expect(configuration.scheduleDelay == .seconds(1))
        #expect(configuration.maxQueueSize == 2048)
        #expect(configuration.maxExportBatchSize == 512)
    }

    @Test func everyVariable() throws {
        let configuration = try #require(try TracingConfiguration(environment: [
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://ignored:1",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://[::1]:14318/custom/traces",
            "OTEL_SERVICE_NAME": "chatter-gateway",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod, team=chat%20core,service.name=overridden",
            "OTEL_EXPORTER_OTLP_HEADERS": "api-key=one,x-a=1",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "API-Key=two%3D",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "5000",
            "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "2500",
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.1",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "OTEL_BSP_MAX_QUEUE_SIZE": "100",
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "500",
        ]))
        #expect(configuration.endpoint == .init(host: "::1", port: 14318, path: "/custom/traces"))
        #expect(configuration.endpoint.description == "http://[::1]:14318/custom/traces")
        #expect(configuration.serviceName == "chatter-gateway")
        #expect(configuration.resourceAttributes == ["deployment.environment": "prod", "team": "chat core"])
        #expect(configuration.headers.map { "\($0.name)=\($0.value)" } == ["api-key=two=", "x-a=1"])
        #expect(configuration.exportTimeout == .milliseconds(2500))
        #expect(configuration.sampler == .parentBasedTraceIDRatio(0.1))
        #expect(configuration.scheduleDelay == .milliseconds(200))
        #expect(configuration.maxQueueSize == 100)
        #expect(configuration.maxExportBatchSize == 100)
    }

    @Test func httpsEndpointsUseTLSAndPort443ByDefault() throws {
        let configuration = try #require(try TracingConfiguration(environment: [
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://otlp.example.com/v1/traces",
            "OTEL_EXPORTER_OTLP_CERTIFICATE": "/etc/ca.pem",
        ]))
        #expect(configuration.endpoint == .init(host: "otlp.example.com", port: 443, path: "/v1/traces", usesTLS: true))
        #expect(configuration.endpoint.description == "https://otlp.example.com/v1/traces")
        #expect(configuration.certificateFile == "/etc/ca.pem")
    }

    @Test(arguments: [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://collector:4318"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:99999"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "soon"),
        ("OTEL_TRACES_SAMPLER", "sometimes"),
        ("OTEL_TRACES_SAMPLER_ARG", "1.5"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
        ("OTEL_BSP_SCHEDULE_DELAY", "-1"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
        ("OTEL_TRACES_EXPORTER", "zipkin"),
    ])
    func invalidValuesNameTheVariable(_ variable: String, _ value: String) {
        var environment = ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_TRACES_SAMPLER": "traceidratio"]
        environment[variable] = value
        do {
            _ = try TracingConfiguration(environment: environment)
            Issue.record("\(variable)=\(value) was accepted")
        } catch let error as TracingError {
            #expect(error.code == .invalidConfiguration)
            #expect(error.variable == variable)
            #expect("\(error)".contains(variable))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
