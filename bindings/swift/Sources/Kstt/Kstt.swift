// Swift API over libkstt: Model (load once, share), Stream (feed 24 kHz mono Float samples, get
// events), events as an enum, also delivered through an AsyncStream, and MimiEncoder (the Mimi
// codes the rustymimi-c wrapper gave).
import CKstt

/// An error of libkstt: `message` is the library's message, `status` its negative status code.
public struct KsttError: Error, CustomStringConvertible, Equatable {
    public let status: Int32
    public let message: String
    public var description: String { message }
}

/// What a stream produces.
public enum Event: Equatable, Sendable {
    /// A complete word: its text, start time (seconds) and token ids.
    case word(text: String, start: Double, tokens: [Int32])
    /// The end of the previous word(s), in seconds.
    case endWord(stop: Double)
    /// One model step of a model with end-of-turn heads: probabilities of a pause of at least
    /// 0.5, 1, 2, 3 s starting at `time` (seconds; negative inside the silence prefix).
    case step(step: Int64, time: Double, pauseProbabilities: [Float])
}

/// A word of a finished transcript.
public struct Word: Equatable, Sendable {
    public let text: String
    public let start: Double
    public let end: Double
}

/// An STT model (a model directory: config.json, LM, Mimi, tokenizer). Immutable after loading
/// and safe to share between threads; each thread uses its own Stream.
public final class Model: @unchecked Sendable {
    let handle: OpaquePointer
    let pool: OpaquePointer?
    public let info: kstt_model_info

    /// - Parameters:
    ///   - path: the model directory.
    ///   - threads: worker threads (0: one per CPU).
    public init(path: String, threads: Int = 0) throws {
        var pool: OpaquePointer?
        let prc = kstt_pool_new(&pool, Int32(threads))
        if prc != 0 {
            throw KsttError(status: prc, message: "cannot start \(threads) threads")
        }
        var params = kstt_model_params_default()
        params.pool = pool
        var err = [CChar](repeating: 0, count: 1024)
        var model: OpaquePointer?
        let rc = kstt_model_load(&model, path, &params, &err, err.count)
        guard rc == 0, let m = model else {
            kstt_pool_free(pool)
            throw KsttError(status: rc, message: String(cString: err))
        }
        handle = m
        self.pool = pool
        var info = kstt_model_info()
        kstt_model_get_info(m, &info)
        self.info = info
    }

    deinit {
        kstt_model_free(handle)
        kstt_pool_free(pool)
    }

    public var sampleRate: Int { Int(info.sample_rate) }
    public var hasVAD: Bool { info.has_vad != 0 }

    /// A new stream. pad: the model's silence prefix before the audio and trailing silence at
    /// flush (times from the start of your audio); vad: step events with pause probabilities.
    public func stream(pad: Bool = true, vad: Bool = true) throws -> Stream {
        try Stream(model: self, pad: pad, vad: vad)
    }

    /// Transcribes 24 kHz mono samples: the words with start and end times.
    public func transcribe(_ samples: [Float]) throws -> [Word] {
        let s = try stream(vad: false)
        var words: [Word] = []
        var open: (String, Double)?
        func take(_ events: [Event]) {
            for e in events {
                switch e {
                case let .word(text, start, _):
                    if let (t, st) = open { words.append(Word(text: t, start: st, end: max(start, st))) }
                    open = (text, start)
                case let .endWord(stop):
                    if let (t, st) = open { words.append(Word(text: t, start: st, end: max(stop, st))) }
                    open = nil
                case .step:
                    break
                }
            }
        }
        take(try s.feed(samples))
        take(try s.flush())
        if let (t, st) = open {
            words.append(Word(text: t, start: st, end: max(Double(samples.count) / Double(sampleRate), st)))
        }
        return words
    }
}

/// `Stream` without the clash with Foundation's `Stream` in files that import Foundation (or
/// write `Kstt.Stream`).
public typealias KsttStream = Stream

/// One audio stream through a model. Use it from one thread (or task) at a time.
public final class Stream {
    public let model: Model
    let handle: OpaquePointer
    let prefixFrames: Int64
    private var continuation: AsyncStream<Event>.Continuation
    /// Every event feed() and flush() return, also delivered here (e.g. to a UI task). Finishes
    /// when the stream is deinitialised.
    public let events: AsyncStream<Event>

    init(model: Model, pad: Bool, vad: Bool) throws {
        self.model = model
        var p = kstt_stream_params_default()
        p.pad = pad ? 1 : 0
        p.step_events = vad ? 1 : 0
        var s: OpaquePointer?
        let rc = kstt_stream_new(&s, model.handle, &p)
        guard rc == 0, let h = s else {
            throw KsttError(status: rc, message: String(cString: kstt_strerror(rc)))
        }
        handle = h
        prefixFrames = pad ? model.info.prefix_frames : 0
        var c: AsyncStream<Event>.Continuation!
        events = AsyncStream(bufferingPolicy: .unbounded) { c = $0 }
        continuation = c
    }

    deinit {
        continuation.finish()
        kstt_stream_free(handle)
    }

    private func check(_ rc: Int32) throws {
        if rc < 0 {
            throw KsttError(status: rc, message: String(cString: kstt_stream_errmsg(handle)))
        }
    }

    private func drain() throws -> [Event] {
        var out: [Event] = []
        var buf = [kstt_event](repeating: kstt_event(), count: 64)
        while true {
            let k = kstt_stream_read(handle, &buf, buf.count)
            try check(k)
            for e in buf[0..<Int(k)] {
                switch e.type {
                case KSTT_EVENT_WORD:
                    let text = e.text.map { String(cString: $0) } ?? ""
                    let toks = (0..<Int(e.n_tokens)).map { e.tokens[$0] }
                    out.append(.word(text: text, start: e.start, tokens: toks))
                case KSTT_EVENT_END_WORD:
                    out.append(.endWord(stop: e.stop))
                default:
                    let t = Double(e.step - prefixFrames) / model.info.frame_rate
                    out.append(.step(step: e.step, time: t,
                                     pauseProbabilities: [e.prs.0, e.prs.1, e.prs.2, e.prs.3]))
                }
            }
            if k < buf.count { break }
        }
        for e in out { continuation.yield(e) }
        return out
    }

    /// Feeds 24 kHz mono samples in [-1, 1] (any count); returns the events they completed.
    @discardableResult
    public func feed(_ samples: [Float]) throws -> [Event] {
        let rc = samples.withUnsafeBufferPointer { kstt_stream_feed(handle, $0.baseAddress, $0.count) }
        try check(rc)
        return try drain()
    }

    /// End of input: the last words and a closing endWord. Then reset() before new audio.
    @discardableResult
    public func flush() throws -> [Event] {
        try check(kstt_stream_flush(handle))
        return try drain()
    }

    /// Back to a fresh stream.
    public func reset() {
        kstt_stream_reset(handle)
    }
}

/// Mimi codes, as the rustymimi-c library produced them (mimi.h over libkstt).
public final class MimiEncoder {
    let handle: OpaquePointer

    /// - Parameters:
    ///   - path: a Mimi safetensors file; configPath: a Mimi config JSON (nil: the real Mimi).
    public init(path: String, numCodebooks: Int = 32, configPath: String? = nil) throws {
        var err = [CChar](repeating: 0, count: 512)
        guard let t = mimi_tokenizer_new_ex(path, numCodebooks, configPath, &err, err.count) else {
            throw KsttError(status: -1, message: String(cString: err))
        }
        handle = t
    }

    deinit { mimi_tokenizer_free(handle) }

    /// Feeds samples; returns the codes of the frames they completed (one array per frame).
    public func encode(_ samples: [Float]) throws -> [[UInt32]] {
        var codes: UnsafeMutablePointer<UInt32>?
        var k = 0, steps = 0
        let rc = samples.withUnsafeBufferPointer {
            mimi_encode_step(handle, $0.baseAddress, $0.count, &codes, &k, &steps)
        }
        guard rc == 0, let c = codes else {
            let msg = String(cString: mimi_last_error(handle))
            if msg.isEmpty { return [] }  // no frame complete yet
            throw KsttError(status: -1, message: msg)
        }
        defer { mimi_free_codes(c, k * steps) }
        return (0..<steps).map { s in (0..<k).map { c[s * k + $0] } }
    }

    public func reset() { mimi_reset(handle) }
}
