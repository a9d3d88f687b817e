import AdminClient
import Foundation
import Wire

CommandLineArguments.requireUTF8(program: "presignctl")

exit(await Presignctl.run(arguments: Array(CommandLine.arguments.dropFirst())))
