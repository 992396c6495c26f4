import ChatterCore
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Telemetry
import Tracing

/// Consumes chat events from the log and queues each on every connection of every member.
///
/// Each notification instance is its own consumer group starting at the log's end: its
/// connections are all new, and clients catch up on older messages with `sync`. An event is
/// framed once and the same string goes to every recipient.
struct EventDispatcher: Service {
    let log: any EventLog
    let registry: ConnectionRegistry
    let members: MembersCache
    let group: String
    let lag: ConsumerLagProbe
    let metrics: ChatterMetrics
    let logger: Logger

    /// The fields of a stored event that routing needs.
    struct Routing: Decodable {
        struct MessageRef: Decodable { var seq: Int64 }
        struct MemberRef: Decodable {
            var userID: String
            enum CodingKeys: String, CodingKey { case userID = "user_id" }
        }
        struct ChatRef: Decodable { var members: [MemberRef] }

        var kind: String
        var chatID: String
        var occurredAt: Timestamp?
        var message: MessageRef?
        var chat: ChatRef?
        var userID: String?

        enum CodingKeys: String, CodingKey {
            case kind, message, chat
            case chatID = "chat_id"
            case userID = "user_id"
            case occurredAt = "occurred_at"
        }
    }

    /// Message and read events are routed from the record's headers; chat and member events,
    /// which carry the member list, from their payload.
    static func routing(of record: EventRecord) throws -> Routing {
        if let kind = record.headers[EventHeader.kind], kind.hasPrefix("message.") || kind == ChatEvent.Kind.readUpdated.rawValue,
           let occurredAt = record.headers[EventHeader.occurredAt].flatMap(Int64.init) {
            let seq = record.headers[EventHeader.seq].flatMap(Int64.init)
            if kind != ChatEvent.Kind.messageCreated.rawValue || seq != nil {
                return Routing(kind: kind, chatID: record.key, occurredAt: Timestamp(millisecondsSinceEpoch: occurredAt),
                               message: seq.map { Routing.MessageRef(seq: $0) })
            }
        }
        return try JSONDecoder().decode(Routing.self, from: Data(record.payload.utf8))
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await log.consume(topic: ChatEvent.topic, group: group, start: .latest, probe: lag, onFailure: { error in
                // The log is unreachable: nothing is lost (clients sync), retry shortly.
                logger.error("event consumption failed; retrying", metadata: [LoggingKeys.errorDetail: "\(error)"])
            }) { records in
                // One hand-off per event loop for every frame of a chunk of records, not per
                // record; a long catch-up chunk is flushed every `recordsPerFlush`.
                let batch = FlushBatch()
                for (index, record) in records.enumerated() {
                    await dispatch(record, batch: batch)
                    if index % Self.recordsPerFlush == Self.recordsPerFlush - 1 { batch.schedule() }
                }
                batch.schedule()
            }
        }
    }

    /// Records whose frames wait for one hand-off to the sockets' event loops at most.
    static let recordsPerFlush = 64

    /// Queues `record`'s frame on its recipients' sockets; they are written when `batch` is
    /// scheduled.
    func dispatch(_ record: EventRecord, batch: FlushBatch) async {
        // Traced records (a send's events) continue their trace here: the consumer span, and
        // below it the fan-out to this process' sockets.
        let span = EventSpans.startProcessing(
            system: log.system, topic: record.topic, partition: record.partition, offset: record.offset, headers: record.headers)
        defer { span?.end() }
        let routing: Routing
        do {
            routing = try Self.routing(of: record)
        } catch {
            logger.error("undecodable event skipped", metadata: [LoggingKeys.errorDetail: "\(error)", "offset": "\(record.offset)"])
            return
        }
        var recipients: [String]
        if let snapshot = routing.chat {
            recipients = snapshot.members.map(\.userID)
            members.store(routing.chatID, recipients)
        } else {
            do {
                recipients = try await members.members(of: routing.chatID)
            } catch {
                logger.error("member lookup failed; event not delivered live", metadata: [
                    LoggingKeys.chatID: .string(routing.chatID), LoggingKeys.errorDetail: "\(error)"])
                return
            }
        }
        if routing.kind == ChatEvent.Kind.memberRemoved.rawValue, let removed = routing.userID {
            recipients.append(removed)  // the removed member learns it too
        }
        let frame = ByteBuffer(string: ServerFrame.event(payload: record.payload))
        let seq = routing.kind == ChatEvent.Kind.messageCreated.rawValue ? routing.message?.seq : nil
        let delivery = span.map { InstrumentationSystem.tracer.startAnySpan("websocket deliver", context: $0.context, ofKind: .internal) }
        defer { delivery?.end() }
        var queued = 0
        for connection in registry.connections(of: recipients)
        where connection.deliver(chatID: routing.chatID, seq: seq, occurredAt: routing.occurredAt, frame: frame, batch: batch) {
            queued += 1
        }
        let latency = seq == nil ? nil : routing.occurredAt.map { Timestamp.now().duration(since: $0) }
        metrics.eventsDelivered(type: routing.kind, count: queued, sinceCommit: latency)
        delivery?.attributes["chatter.event.type"] = routing.kind
        delivery?.attributes["chatter.recipients"] = recipients.count
        delivery?.attributes["chatter.sockets.queued"] = queued
    }
}
