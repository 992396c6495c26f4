#if Kafka
import ChatterCore
import KafkaEventLog
import Testing

@Suite struct KafkaConfigurationTests {
    @Test func kafkaIsOffWithoutBrokers() throws {
        #expect(try KafkaConfiguration(environment: [:]) == nil)
        #expect(try KafkaConfiguration(environment: ["CHATTER_KAFKA_BROKERS": ""]) == nil)
    }

    @Test func defaultsAndOverrides() throws {
        let defaults = try #require(try KafkaConfiguration(environment: ["CHATTER_KAFKA_BROKERS": "a:9092,b:9092"]))
        #expect(defaults.brokers == "a:9092,b:9092")
        #expect(defaults.partitions == 6)
        #expect(defaults.replicationFactor == 3)
        #expect(defaults.deliveryTimeout == .seconds(30))
        let set = try #require(try KafkaConfiguration(environment: [
            "CHATTER_KAFKA_BROKERS": "k:9092", "CHATTER_KAFKA_PARTITIONS": "12", "CHATTER_KAFKA_REPLICATION": "1",
            "CHATTER_KAFKA_DELIVERY_TIMEOUT_MS": "5000", "CHATTER_KAFKA_REQUEST_TIMEOUT_MS": "800",
            "CHATTER_KAFKA_CLIENT_ID": "relay-1",
        ]))
        #expect(set.partitions == 12)
        #expect(set.replicationFactor == 1)
        #expect(set.deliveryTimeout == .milliseconds(5000))
        #expect(set.requestTimeout == .milliseconds(800))
        #expect(set.clientID == "relay-1")
    }

    @Test func invalidNumbersAreRefusedByName() {
        #expect(throws: ConfigurationError.self) {
            try KafkaConfiguration(environment: ["CHATTER_KAFKA_BROKERS": "k:9092", "CHATTER_KAFKA_PARTITIONS": "0"])
        }
    }
}
#endif
