#if Kafka
import CRdKafka

/// librdkafka error codes this folder tests for, by their protocol numbers.
enum RDKafkaCode {
    static let noError: Int32 = 0
    static let unknownTopicOrPartition: Int32 = 3
    static let leaderNotAvailable: Int32 = 5
    static let topicAlreadyExists: Int32 = 36
    /// Internal: nothing to commit.
    static let noOffset: Int32 = -168
}

extension KafkaEventLogError {
    /// An error carrying librdkafka's name and text for `code`.
    init(_ kind: Code, _ context: String, rdCode: rd_kafka_resp_err_t, file: String = #fileID, line: Int = #line) {
        let name = String(cString: rd_kafka_err2name(rdCode))
        let text = String(cString: rd_kafka_err2str(rdCode))
        self.init(kind, "\(context): \(name): \(text)", kafkaErrorCode: Int(rdCode.rawValue), file: file, line: line)
    }
}

/// The text in a C buffer librdkafka wrote an error message into.
func string(fromCBuffer buffer: [CChar]) -> String {
    buffer.withUnsafeBufferPointer { pointer in
        guard let base = pointer.baseAddress else { return "" }
        return String(cString: base)
    }
}
#endif
