import ArgumentParser
import BreakerCLI

@main
enum Main {
    static func main() async {
        await BreakerCommand.main()
    }
}
