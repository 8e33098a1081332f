import Foundation
import NIOCore
import NIOPosix

/// A lean HTTP/1.1 load generator on NIO for `tally bench http`: keep-alive connections on one event
/// loop, requests written as prebuilt bytes, responses parsed only as far as the status line and
/// `Content-Length`. Light enough that, on a machine whose cores it shares with the server, it
/// takes little of their time from the server it measures.
///
/// Two modes:
/// - **open loop** at a fixed rate: request *i* is due at `start + i / rate` and written to
///   connection `i % connections` when due, whatever is outstanding (HTTP/1.1 pipelining: the server
///   answers each connection's requests in order). Latency runs from the *scheduled* time, so a
///   server that falls behind cannot hide its queue.
/// - **closed loop**: each connection keeps `depth` requests outstanding and sends the next when one
///   is answered; latency runs from the send. This finds the most a server answers per second.
final class HTTPLoad: @unchecked Sendable {
    enum Mode: Sendable {
        case open(rate: Double)
        case closed(depth: Int)
    }

    /// One request: the path and the body of a POST.
    struct Request: Sendable {
        var path: String
        var body: [UInt8]
    }

    struct Result: Sendable {
        /// Requests written.
        var sent = 0
        /// Requests answered 2xx.
        var succeeded = 0
        /// Requests answered otherwise, or never answered before the drain deadline.
        var failed = 0
        /// Status codes other than 2xx, with their counts.
        var statuses: [UInt: Int] = [:]
        /// Seconds from the first send to the last answer.
        var elapsed = 0.0
        /// Latencies of successful requests in seconds, sorted.
        var latencies: [Double] = []

        var perSecond: Double { elapsed > 0 ? Double(succeeded) / elapsed : 0 }

        /// The latency at quantile `q` (0…1) in milliseconds.
        func percentile(_ q: Double) -> Double {
            guard !latencies.isEmpty else { return 0 }
            return latencies[min(latencies.count - 1, Int(Double(latencies.count) * q))] * 1000
        }
    }

    let host: String
    let port: Int
    let headers: String

    /// - Parameter authorization: sent as `Authorization: Bearer …` when not nil.
    init(host: String, port: Int, authorization: String?) {
        self.host = host
        self.port = port
        self.headers =
            "Host: \(host):\(port)\r\nContent-Type: application/json\r\n"
            + (authorization.map { "Authorization: Bearer \($0)\r\n" } ?? "")
    }

    /// Runs the load for `duration` seconds (then waits up to `drain` seconds for the answers still
    /// outstanding), making request *i* with `make(i)`.
    func run(
        mode: Mode, connections: Int, duration: Double, drain: Double = 10,
        make: @escaping @Sendable (Int) -> Request
    ) async throws -> Result {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let result = try await run(
                on: group, mode: mode, connections: connections, duration: duration, drain: drain, make: make)
            try await group.shutdownGracefully()
            return result
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private func run(
        on group: MultiThreadedEventLoopGroup, mode: Mode, connections: Int, duration: Double, drain: Double,
        make: @escaping @Sendable (Int) -> Request
    ) async throws -> Result {
        let loop = group.next()
        let driver = Driver(
            loop: loop, mode: mode, duration: duration, drain: drain, headers: headers, make: make)
        let bootstrap = ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Connection(driver: driver))
                }
            }
        var channels: [any Channel] = []
        do {
            for _ in 0..<connections { channels.append(try await bootstrap.connect(host: host, port: port).get()) }
        } catch {
            for channel in channels { try? await channel.close() }
            throw error
        }
        let connected = channels
        let result = try await loop.flatSubmit { driver.start(connected) }.get()
        for channel in channels { try? await channel.close() }
        return result
    }

    /// The schedule and the tallies; touched only on the event loop.
    private final class Driver: @unchecked Sendable {
        let loop: any EventLoop
        let mode: Mode
        let duration: Double
        let drain: Double
        let headers: String
        let make: @Sendable (Int) -> Request
        var connections: [Connection] = []
        var result = Result()
        var next = 0
        var start = NIODeadline.now()
        var stopSending = false
        var outstanding = 0
        var promise: EventLoopPromise<Result>?
        var ticker: RepeatedTask?

        init(
            loop: any EventLoop, mode: Mode, duration: Double, drain: Double, headers: String,
            make: @escaping @Sendable (Int) -> Request
        ) {
            self.loop = loop
            self.mode = mode
            self.duration = duration
            self.drain = drain
            self.headers = headers
            self.make = make
        }

        func start(_ channels: [any Channel]) -> EventLoopFuture<Result> {
            connections = channels.map { try! $0.pipeline.syncOperations.handler(type: Connection.self) }
            let promise = loop.makePromise(of: Result.self)
            self.promise = promise
            start = .now()
            let total = TimeAmount.nanoseconds(Int64(duration * 1e9))
            loop.scheduleTask(in: total) { [self] in
                stopSending = true
                ticker?.cancel()
                finishIfDone()
                loop.scheduleTask(in: .nanoseconds(Int64(drain * 1e9))) { [self] in finish() }
            }
            switch mode {
            case .open(let rate):
                let interval = 1e9 / rate
                ticker = loop.scheduleRepeatedTask(initialDelay: .zero, delay: .microseconds(250)) { [self] _ in
                    let now = NIODeadline.now()
                    let due = Int(Double((now - start).nanoseconds) / interval) + 1
                    var touched: Set<Int> = []
                    while next < due, !stopSending {
                        let i = next
                        let scheduled = start + .nanoseconds(Int64(Double(i) * interval))
                        let c = i % connections.count
                        send(i, on: connections[c], scheduled: scheduled, flush: false)
                        touched.insert(c)
                        next += 1
                    }
                    for c in touched { connections[c].context?.flush() }
                }
            case .closed(let depth):
                for connection in connections {
                    for _ in 0..<depth { sendNext(on: connection) }
                }
            }
            return promise.futureResult
        }

        func sendNext(on connection: Connection) {
            guard !stopSending else { return }
            let i = next
            next += 1
            send(i, on: connection, scheduled: .now(), flush: true)
        }

        func send(_ i: Int, on connection: Connection, scheduled: NIODeadline, flush: Bool) {
            guard let context = connection.context else {
                result.failed += 1
                return
            }
            let request = make(i)
            var buffer = context.channel.allocator.buffer(capacity: request.body.count + 256)
            buffer.writeString(
                "POST \(request.path) HTTP/1.1\r\n\(headers)Content-Length: \(request.body.count)\r\n\r\n")
            buffer.writeBytes(request.body)
            connection.scheduled.append(scheduled)
            outstanding += 1
            result.sent += 1
            if flush {
                context.writeAndFlush(NIOAny(buffer), promise: nil)
            } else {
                context.write(NIOAny(buffer), promise: nil)
            }
        }

        func answered(_ connection: Connection, status: UInt) {
            let scheduled = connection.scheduled.removeFirst()
            outstanding -= 1
            if (200..<300).contains(status) {
                result.succeeded += 1
                result.latencies.append(Double((NIODeadline.now() - scheduled).nanoseconds) / 1e9)
            } else {
                result.failed += 1
                result.statuses[status, default: 0] += 1
            }
            if case .closed = mode { sendNext(on: connection) }
            finishIfDone()
        }

        func lost(_ connection: Connection) {
            outstanding -= connection.scheduled.count
            result.failed += connection.scheduled.count
            connection.scheduled.removeAll()
            finishIfDone()
        }

        func finishIfDone() {
            if stopSending, outstanding == 0 { finish() }
        }

        func finish() {
            guard let promise else { return }
            self.promise = nil
            result.elapsed = Double((NIODeadline.now() - start).nanoseconds) / 1e9
            result.failed += outstanding
            result.latencies.sort()
            promise.succeed(result)
        }
    }

    /// One keep-alive connection: writes requests, parses answers in order.
    private final class Connection: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let driver: Driver
        var context: ChannelHandlerContext?
        var scheduled: [NIODeadline] = []
        var buffer = ByteBuffer()
        private static let headerEnd: [UInt8] = Array("\r\n\r\n".utf8)
        private static let contentLength: [UInt8] = Array("content-length:".utf8)

        init(driver: Driver) { self.driver = driver }

        func handlerAdded(context: ChannelHandlerContext) { self.context = context }

        func channelInactive(context: ChannelHandlerContext) {
            self.context = nil
            driver.lost(self)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            buffer.writeBuffer(&incoming)
            while let (status, length) = parse() {
                buffer.moveReaderIndex(forwardBy: length)
                if !scheduled.isEmpty { driver.answered(self, status: status) }
            }
            buffer.discardReadBytes()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }

        /// The status and total length of the first complete answer in the buffer, if there is one.
        private func parse() -> (UInt, Int)? {
            let bytes = buffer.readableBytesView
            guard bytes.count >= 16, let end = Self.find(Self.headerEnd, in: bytes) else { return nil }
            let head = bytes[bytes.startIndex..<end]
            let s = head.index(head.startIndex, offsetBy: 9)
            let status = head[s..<(s + 3)].reduce(UInt(0)) { $0 * 10 + UInt($1 &- 48) }
            var length = 0
            var line = head.startIndex
            while line < head.endIndex {
                let lineEnd = head[line...].firstIndex(of: 0x0D) ?? head.endIndex
                let name = head[line..<lineEnd]
                if name.count > Self.contentLength.count,
                    zip(name, Self.contentLength).allSatisfy({ ($0 | 0x20) == $1 || $0 == $1 })
                {
                    length = name.dropFirst(Self.contentLength.count).reduce(0) {
                        $1 >= 48 && $1 <= 57 ? $0 * 10 + Int($1 - 48) : $0
                    }
                }
                line = lineEnd + 2
            }
            let total = end - bytes.startIndex + 4 + length
            return bytes.count >= total ? (status, total) : nil
        }

        private static func find(_ needle: [UInt8], in bytes: ByteBufferView) -> Int? {
            var i = bytes.startIndex
            let last = bytes.endIndex - needle.count
            while i <= last {
                if bytes[i] == needle[0], bytes[i + 1] == needle[1], bytes[i + 2] == needle[2],
                    bytes[i + 3] == needle[3]
                {
                    return i
                }
                i += 1
            }
            return nil
        }
    }
}
