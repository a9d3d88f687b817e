import AdminClient
import Foundation

exit(await Presignctl.run(arguments: Array(CommandLine.arguments.dropFirst())))
