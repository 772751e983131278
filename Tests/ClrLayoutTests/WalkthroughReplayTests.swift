import ClrLayout
@testable import Commands
import DumpModel
import Foundation
import TestSupport
import Testing

/// The seed walkthrough (`Samples/walkthrough.txt`) replayed on each runtime's dump of the AsyncCrash sample (Linux
/// 3.1 and 8.0, Windows 3.1, each with workstation and server GC), step by step as the script runs it. The script's
/// three `!DumpObject` addresses are the 3.1 dump's; on each dump they are the ones its own steps print (the request
/// `!dumpstackobjects` finds, then that request's `_path` and `_httpVerb`), as a reader following the walkthrough on
/// another dump would take them. Each step is checked against what the program itself printed (its FACT lines).
@Suite("The seed walkthrough on every runtime's sample dump")
struct WalkthroughReplayTests {
    static let script = ClrFixtures.projectRoot.appendingPathComponent("Samples/walkthrough.txt").path

    @Test(arguments: AsyncCrashSample.available)
    func theWalkthroughFindsTheRequest(_ t: AsyncCrashSample.Target) throws {
        let facts = try AsyncCrashSample.facts(t)
        let (s, b) = try AsyncCrashSample.session(t, loadSos: false)   // the script's first step loads SOS
        let steps = try String(contentsOfFile: Self.script, encoding: .utf8).split(separator: "\n").map(String.init)
            .filter { !$0.hasPrefix("$$") && $0 != "q" }
        #expect(steps.count == 7 && steps.filter { $0.hasPrefix("!DumpObject ") }.count == 3, "\(steps)")
        let crashThread = try #require(facts["crash.os_tid_hex"]).lowercased()
        var addresses: [String] = []   // the request, its _path, its _httpVerb: as the steps before print them
        var objectSteps = 0
        var printed = ""
        for step in steps {
            var line = step
            if step.hasPrefix("!DumpObject ") {
                line = "!DumpObject " + (objectSteps < addresses.count ? addresses[objectSteps] : "?")
                objectSteps += 1
            }
            let out = ClrFixtures.run(s, b, line)
            printed += out
            switch step {
            case ".loadby sos clr":
                #expect(out.contains("CLR runtime: ") && out.contains(t.clrVersion), "\(t): \(out)")
            case "!analyze -v":
                #expect(out.contains("FAILURE_BUCKET_ID:  CLR_EXCEPTION_System.NullReferenceException_80004003_app.exe!Samples.AccountController+<LoginAsync>c__async0.MoveNext\n"), "\(t): \(out.suffix(2000))")
                // It switches to the thread that threw, as in the walkthrough.
                #expect(s.thread.map { String($0.id, radix: 16) } == crashThread, "\(t)")
            case "!CLRStack -a":
                #expect(out.hasPrefix("OS Thread Id: 0x\(crashThread) "), "\(t): \(out.prefix(200))")
                #expect(out.contains(" System.Web.LegacyAspNetSynchronizationContext.CallCallbackPossiblyUnderLock(System.Threading.SendOrPostCallback, System.Object)\n"), "\(t)")
                #expect(out.contains("    PARAMETERS:\n") && out.contains("    LOCALS:\n"), "\(t)")
            case "!dumpstackobjects":
                #expect(out.hasPrefix("OS Thread Id: 0x\(crashThread) "), "\(t): \(out.prefix(200))")
                addresses.append(try #require(ObjectCommandTests.dsoObjects(out, type: "System.Web.Hosting.IIS7WorkerRequest").first, "\(t): \(out)"))
            default:
                #expect(step.hasPrefix("!DumpObject "), "a step the test does not know: \(step)")
                if objectSteps == 1 {
                    // The request: its _path and _httpVerb are the next two steps' addresses.
                    #expect(out.hasPrefix("Name:        System.Web.Hosting.IIS7WorkerRequest\n"), "\(t): \(out)")
                    for field in ["_path", "_httpVerb"] {
                        let row = try #require(out.split(separator: "\n").first { $0.hasSuffix(" " + field) && $0.contains(" instance ") }, "\(t): \(out)")
                        addresses.append(String(row.split(separator: " ").dropLast().last!))
                    }
                } else {
                    #expect(out.hasPrefix("Name:        System.String\n"), "\(t): \(line): \(out)")
                }
            }
        }
        // The last two steps printed the request's path and verb, the values the program gave it.
        #expect(printed.contains("String:      \(try #require(facts["request._path"]))\n"), "\(t)")
        #expect(printed.contains("String:      \(try #require(facts["request._httpVerb"]))\n"), "\(t)")
        #expect(objectSteps == 3 && addresses.count == 3, "\(t): \(addresses)")
    }
}
