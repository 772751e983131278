@testable import Commands
import Testing

/// `!analyze`'s FAILURE_ID_HASH: two FNV-1a hashes of the bucket and frames, printed as a GUID. Values computed
/// independently (Python, the same seeds and prime), so a change to the digits or their grouping fails here.
struct FailureHashTests {
    @Test func guidHashGivesTheKnownValues() {
        #expect(AnalyzeCommand.guidHash("") == "{cbf29ce4-8422-2325-8422-2325cbf29ce4}")
        #expect(AnalyzeCommand.guidHash("abc") == "{e71fa219-0541-574b-7bab-84f7414251ac}")
        #expect(AnalyzeCommand.guidHash("NULL_CLASS_PTR_WRITE_c0000005_test_app.exe!Unknown\ntest_app!main+0x2e")
                == "{9b5e5770-ad9f-c4c7-6fbe-f78b8484a670}")
    }
}
