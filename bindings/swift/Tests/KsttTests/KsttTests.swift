// Tests against the golden tiny model: KSTT_GOLDEN_DIR (stt_tiny/, bria_10s_24k.f32) and
// KSTT_EXPECTED_TEXT (a file with the words `kstt transcribe` prints for that clip, written by
// .ci/stage-swift.sh) must be set; a missing input fails.
import Foundation
import XCTest

@testable import Kstt

final class KsttTests: XCTestCase {
    static var golden: String {
        ProcessInfo.processInfo.environment["KSTT_GOLDEN_DIR"] ?? "golden"
    }

    static let model: Model = {
        do { return try Model(path: golden + "/stt_tiny", threads: 2) } catch {
            fatalError("load: \(error)")
        }
    }()

    func clip() throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.golden + "/bria_10s_24k.f32"))
        XCTAssertEqual(data.count, 960_000)
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func run(_ chunks: [[Float]]) throws -> [Event] {
        let s = try Self.model.stream()
        var out: [Event] = []
        for c in chunks { out += try s.feed(c) }
        out += try s.flush()
        return out
    }

    func testWordsEqualTheCLI() throws {
        let words = try Self.model.transcribe(try clip())
        let expectedPath = ProcessInfo.processInfo.environment["KSTT_EXPECTED_TEXT"] ?? "missing"
        let expected = try String(contentsOfFile: expectedPath, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertGreaterThan(words.count, 5)
        XCTAssertEqual(words.map(\.text).joined(separator: " "), expected)
        XCTAssertEqual(words.map(\.start), words.map(\.start).sorted())
        for w in words { XCTAssertGreaterThanOrEqual(w.end, w.start) }
    }

    func testChunkingIsExact() throws {
        let pcm = try clip()
        let whole = try run([pcm])
        XCTAssertTrue(whole.contains { if case .endWord = $0 { return true } else { return false } })
        XCTAssertTrue(whole.contains { if case .step = $0 { return true } else { return false } })
        var chunks: [[Float]] = []
        var i = 0, j = 0
        let sizes = [1, 1919, 480, 5000, 7, 1920, 33333]
        while i < pcm.count {
            let n = min(sizes[j % sizes.count], pcm.count - i)
            chunks.append(Array(pcm[i..<i + n]))
            i += n
            j += 1
        }
        XCTAssertEqual(try run(chunks), whole)
    }

    func testAsyncStreamDeliversTheSameEvents() async throws {
        let pcm = try clip()
        var s: Kstt.Stream? = try Self.model.stream()
        let events = s!.events
        var returned: [Event] = []
        returned += try s!.feed(Array(pcm[0..<100_000]))
        returned += try s!.feed(Array(pcm[100_000...]))
        returned += try s!.flush()
        s = nil  // finishes the AsyncStream
        var received: [Event] = []
        for await e in events { received.append(e) }
        XCTAssertEqual(received, returned)
        XCTAssertGreaterThan(received.count, 100)
    }

    func testResetAndErrors() throws {
        let pcm = Array(try clip()[0..<48_000])
        let s = try Self.model.stream()
        let first = try s.feed(pcm) + s.flush()
        XCTAssertThrowsError(try s.feed(pcm)) { e in
            XCTAssertEqual((e as? KsttError)?.status, -6)  // KSTT_ESTATE: flushed
            XCTAssertFalse((e as? KsttError)?.message.isEmpty ?? true)
        }
        s.reset()
        XCTAssertEqual(try s.feed(pcm) + s.flush(), first)
        XCTAssertThrowsError(try Model(path: "/nonexistent/model")) { e in
            XCTAssertTrue((e as? KsttError)?.message.contains("/nonexistent/model") ?? false)
        }
    }

    func testMimiEncoder() throws {
        let m = try MimiEncoder(path: Self.golden + "/stt_tiny/mimi_tiny.safetensors",
                                numCodebooks: 8,
                                configPath: Self.golden + "/stt_tiny/mimi_tiny_config.json")
        let pcm = try clip()
        XCTAssertEqual(try m.encode(Array(pcm[0..<1000])).count, 0)
        let codes = try m.encode(Array(pcm[1000..<19_200]))
        XCTAssertEqual(codes.count, 10)
        XCTAssertTrue(codes.allSatisfy { $0.count == 8 })
        m.reset()
        XCTAssertEqual(try m.encode(Array(pcm[0..<19_200])), codes)
        XCTAssertThrowsError(try MimiEncoder(path: "/nonexistent.safetensors"))
    }
}
