import BreakerCore
import BreakerTestSupport
import Foundation
import Testing

@testable import BreakerFleet

@Suite struct FleetSchemaTests {
    @Test func theEmbeddedSchemaIsTheMigrationsFolderByteForByte() throws {
        let folder = CLI.packageRoot.appendingPathComponent("migrations/fleet")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(files == FleetSchema.all.map(\.file))
        for migration in FleetSchema.all {
            let text = try String(contentsOf: folder.appendingPathComponent(migration.file), encoding: .utf8)
            #expect(text == migration.sql, "\(migration.file) differs from its embedded copy")
        }
    }

    @Test func aMigrationSplitsIntoItsStatementsWithoutComments() {
        let statements = FleetSchema.statements(of: FleetSchema.migration001)
        #expect(statements.count == 6)
        #expect(statements.allSatisfy { $0.hasPrefix("CREATE TABLE") && !$0.contains("--") && !$0.hasSuffix(";") })
    }

    @Test(arguments: [
        ("postgres://breaker@db.internal/fleet", "postgres://breaker@db.internal:5432/fleet?sslmode=disable"),
        ("postgres://breaker@127.0.0.1:6543/f?sslmode=require", "postgres://breaker@127.0.0.1:6543/f?sslmode=require"),
    ])
    func aFleetURLReadsBackWithoutSecrets(url: String, shown: String) throws {
        #expect(try FleetEndpoint(url: url).description == shown)
    }

    @Test(arguments: [
        ("postgres://breaker:hunter2@db/fleet", "password"),
        ("mysql://breaker@db/fleet", "not a postgres:// URL"),
        ("postgres://db/fleet", "no user"),
        ("postgres://breaker@db/", "no database"),
        ("postgres://breaker@db/fleet?sslmode=prefer", "sslmode=prefer"),
    ])
    func aWrongFleetURLIsRefusedSayingWhy(url: String, why: String) {
        #expect {
            try FleetEndpoint(url: url)
        } throws: { error in
            let message = (error as? BreakerError)?.message ?? ""
            return message.contains(why) && message.contains("--fleet") && !message.contains("hunter2")
        }
    }
}
