#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Benchmarks for presignd, one mode per file. Speed lives here, never in the test suite.
///
///     PresignBench sign [--seconds S] [--only get_path|put_content_type|put_varied_type|get_path_token_id|verify_get_path] [--serve]
///     PresignBench consume preload|run [--port P] [--tokens N] [--calls N] [--callers N] [--cluster 1]
///     PresignBench recipe preload|run [--port P] [--urls N] [--clients N]
@main
struct PresignBench {
    static func main() async throws {
        var arguments = Array(CommandLine.arguments.dropFirst())
        guard let mode = arguments.first else { usage() }
        arguments.removeFirst()
        switch mode {
        case "sign": try SignBenchmark(arguments: arguments).run()
        case "consume": try await ConsumeBenchmark(arguments: arguments).run()
        case "recipe": try await RecipeBenchmark(arguments: arguments).run()
        default: usage()
        }
    }

    static func usage() -> Never {
        print("usage: PresignBench sign [--seconds S] [--only get_path|put_content_type|put_varied_type|get_path_token_id|verify_get_path] [--serve]")
        print("       PresignBench consume preload|run [--port P] [--tokens N] [--calls N] [--callers N] [--cluster 1]")
        print("       PresignBench recipe preload|run [--port P] [--urls N] [--clients N]")
        exit(2)
    }
}
