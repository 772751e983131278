import CLibEdit
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A line editor on libedit: emacs keys, a persistent history, Tab completion of command names.
/// Ctrl-C at the prompt abandons the line; Ctrl-D on an empty line ends input.
public final class LineEditor {
    public enum Input: Equatable {
        case line(String)
        case interrupted
        case endOfInput
    }

    private let editLine: OpaquePointer
    private let history: OpaquePointer
    private var event = HistEvent()
    private let historyPath: String?
    private var promptStorage: UnsafeMutablePointer<CChar>?
    fileprivate let completions: (String) -> [String]
    private let inFile: UnsafeMutablePointer<FILE>
    private let outFile: UnsafeMutablePointer<FILE>
    private let errFile: UnsafeMutablePointer<FILE>

    /// - Parameters:
    ///   - historyPath: where history is loaded from and saved to after each line (nil: none).
    ///   - completions: given the word being typed, the command names it may complete to.
    public init?(programName: String, historyPath: String?, completions: @escaping (String) -> [String]) {
        guard let i = fdopen(0, "r"), let o = fdopen(1, "w"), let e = fdopen(2, "w") else { return nil }
        inFile = i; outFile = o; errFile = e
        guard let el = el_init(programName, i, o, e), let h = history_init() else { return nil }
        editLine = el
        history = h
        self.historyPath = historyPath
        self.completions = completions
        _ = dumpdbg_history_setsize(h, &event, 1000)
        _ = dumpdbg_history_setunique(h, &event, 1)
        if let historyPath { _ = dumpdbg_history_load(h, &event, historyPath) }
        _ = dumpdbg_el_set_editor(el, "emacs")
        _ = dumpdbg_el_set_history(el, h)
        _ = dumpdbg_el_set_signal(el, 0)
        _ = dumpdbg_el_set_clientdata(el, Unmanaged.passUnretained(self).toOpaque())
        _ = dumpdbg_el_set_prompt(el, lineEditorPrompt)
        _ = dumpdbg_el_addfn(el, "dumpdbg-complete", "Complete a command name", lineEditorComplete)
        _ = dumpdbg_el_bind(el, "^I", "dumpdbg-complete")
        // ^R searches history backwards, as in bash.
        _ = dumpdbg_el_bind(el, "^R", "em-inc-search-prev")
    }

    deinit {
        el_end(editLine)
        history_end(history)
        free(promptStorage)
    }

    fileprivate var promptPointer: UnsafeMutablePointer<CChar>? { promptStorage }

    /// Shows `prompt` and reads one line.
    public func readLine(prompt: String) -> Input {
        free(promptStorage)
        promptStorage = strdup(prompt)
        var count: Int32 = 0
        errno = 0
        guard let raw = el_gets(editLine, &count) else {
            let interrupted = LineEditor.sigintSeen.exchange(false, ordering: .relaxed)
            if errno == EINTR || interrupted {
                el_reset(editLine)
                fputs("\n", outFile)
                fflush(outFile)
                return .interrupted
            }
            return .endOfInput
        }
        if count < 0 {
            el_reset(editLine)
            return .interrupted
        }
        var line = String(cString: raw)
        while line.hasSuffix("\n") || line.hasSuffix("\r") { line.removeLast() }
        if !line.trimmingSpaces.isEmpty {
            _ = dumpdbg_history_enter(history, &event, line)
            if let historyPath { _ = dumpdbg_history_save(history, &event, historyPath) }
        }
        return .line(line)
    }

    /// Set from the SIGINT handler (an atomic store is async-signal-safe); read when el_gets is interrupted.
    public static let sigintSeen = Atomic<Bool>(false)

    /// Completes the first word of the line (the command name) against `completions`.
    fileprivate func complete(_ el: OpaquePointer) -> UInt8 {
        guard let info = el_line(el) else { return UInt8(CC_ERROR) }
        let li = info.pointee
        let length = li.cursor - li.buffer
        let typed = String(decoding: UnsafeRawBufferPointer(start: li.buffer, count: length), as: UTF8.self)
        // Only the command name is completed; arguments are addresses and expressions.
        guard !typed.contains(" ") else { return UInt8(CC_ERROR) }
        let matches = completions(typed)
        guard !matches.isEmpty else { return UInt8(CC_ERROR) }
        let common = matches.dropFirst().reduce(matches[0]) { $0.commonPrefix(with: $1) }
        if common.count > typed.count {
            let insert = String(common.dropFirst(typed.count)) + (matches.count == 1 ? " " : "")
            _ = el_insertstr(el, insert)
            return UInt8(CC_REFRESH)
        }
        if matches.count == 1 {
            _ = el_insertstr(el, " ")
            return UInt8(CC_REFRESH)
        }
        fputs("\n" + matches.joined(separator: "  ") + "\n", outFile)
        fflush(outFile)
        return UInt8(CC_REDISPLAY)
    }
}

private func editor(_ el: OpaquePointer?) -> LineEditor? {
    guard let el, let p = dumpdbg_el_get_clientdata(el) else { return nil }
    return Unmanaged<LineEditor>.fromOpaque(p).takeUnretainedValue()
}

private func lineEditorPrompt(_ el: OpaquePointer?) -> UnsafeMutablePointer<CChar>? {
    editor(el)?.promptPointer
}

private func lineEditorComplete(_ el: OpaquePointer?, _ ch: Int32) -> UInt8 {
    guard let el, let ed = editor(el) else { return UInt8(CC_ERROR) }
    return ed.complete(el)
}

extension String {
    var trimmingSpaces: Substring { drop(while: { $0 == " " || $0 == "\t" }) }

    func commonPrefix(with other: String) -> String {
        var out = ""
        for (a, b) in zip(self, other) {
            guard a == b else { break }
            out.append(a)
        }
        return out
    }
}
