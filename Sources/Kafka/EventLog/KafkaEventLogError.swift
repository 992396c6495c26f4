#if Kafka
/// Why a call on the Kafka event log failed. `description` names only the code (safe to show);
/// `debugDescription` adds librdkafka's reason and where the error was raised.
public struct KafkaEventLogError: Error, CustomStringConvertible, CustomDebugStringConvertible {
    /// A struct rather than an enum so codes can be added without breaking callers' switches.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let description: String
        private init(_ description: String) { self.description = description }

        /// A librdkafka property was refused, or a handle could not be created.
        public static let configuration = Code("configuration")
        /// No broker answered in time (ping, metadata, committed offsets).
        public static let unavailable = Code("unavailable")
        /// The topic is missing and could not be created, or has no partitions.
        public static let topic = Code("topic")
        /// A record was not acknowledged by the brokers (after librdkafka's own retries).
        public static let delivery = Code("delivery")
        /// Reading committed offsets, assigning partitions or committing failed.
        public static let consumer = Code("consumer")
        /// The log's `run()` has ended; nothing more is published.
        public static let shutDown = Code("shut down")
        /// The mock cluster refused a command.
        public static let mock = Code("mock")
    }

    public var code: Code
    /// librdkafka's error name and text, when it gave one.
    public var reason: String
    /// librdkafka's numeric `rd_kafka_resp_err_t`, when there is one.
    public var kafkaErrorCode: Int?
    public var file: String
    public var line: Int

    init(_ code: Code, _ reason: String, kafkaErrorCode: Int? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.kafkaErrorCode = kafkaErrorCode
        self.file = file
        self.line = line
    }

    public var description: String { "Kafka event log error: \(code)" }
    public var debugDescription: String { "Kafka event log error: \(code): \(reason) (\(file):\(line))" }
}
#endif
