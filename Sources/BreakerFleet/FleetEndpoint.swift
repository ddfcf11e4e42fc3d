public import BreakerCore
import Foundation
import NIOSSL
import PostgresNIO

/// Where the fleet's PostgreSQL is (SPEC §14): `postgres://USER@HOST[:PORT]/DB[?sslmode=disable|require]`.
///
/// The password is never part of the URL: it is read from a file (`--fleet-password-file`), and
/// ``description`` never shows it.
public struct FleetEndpoint: Sendable, CustomStringConvertible {
    public var user: String
    public var host: String
    public var port: Int
    public var database: String
    /// `require`: TLS or no connection; `disable`: plain TCP (loopback, a private network).
    public var requiresTLS: Bool
    var password: String?

    /// Parses `url`; `field` names the option or variable it came from, for the error.
    /// - Throws: ``BreakerError`` (`invalid_argument`) naming what is wrong and the form expected.
    public init(url: String, field: String = "--fleet") throws(BreakerError) {
        let form = "postgres://USER@HOST[:PORT]/DB[?sslmode=disable|require]"
        func refuse(_ why: String) -> BreakerError {
            BreakerError(.invalidArgument, "\(field): \(why); expected \(form)", context: ["field": field])
        }
        guard let c = URLComponents(string: url), c.scheme == "postgres" || c.scheme == "postgresql" else {
            throw refuse("\(url) is not a postgres:// URL")
        }
        guard c.password == nil else {
            throw refuse("the URL holds a password; put it in a file and give --fleet-password-file, so that it is never on a command line")
        }
        guard let user = c.user, !user.isEmpty else { throw refuse("the URL names no user") }
        guard let host = c.host, !host.isEmpty else { throw refuse("the URL names no host") }
        let database = String(c.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else { throw refuse("the URL names no database") }
        var requiresTLS = false
        for item in c.queryItems ?? [] {
            guard item.name == "sslmode" else { throw refuse("unknown parameter \(item.name)") }
            switch item.value {
            case "disable": requiresTLS = false
            case "require": requiresTLS = true
            default: throw refuse("sslmode=\(item.value ?? "") is not disable or require")
            }
        }
        self.user = user
        self.host = host
        self.port = c.port ?? 5432
        self.database = database
        self.requiresTLS = requiresTLS
    }

    /// This endpoint with the password in the file at `path` (its text without surrounding whitespace).
    public func withPassword(fromFile path: String?) throws(BreakerError) -> FleetEndpoint {
        guard let path else { return self }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BreakerError(.invalidArgument, "--fleet-password-file: cannot read \(path)", context: ["path": path])
        }
        var copy = self
        copy.password = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return copy
    }

    /// The URL without any secret.
    public var description: String {
        "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)?sslmode=\(requiresTLS ? "require" : "disable")"
    }

    /// The connection configuration, every connection attempt bounded by `connectTimeout`.
    func configuration(connectTimeout: Duration) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS =
            requiresTLS ? .require(try NIOSSLContext(configuration: .makeClientConfiguration())) : .disable
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = .milliseconds(Int64(connectTimeout.components.seconds * 1000))
        return configuration
    }
}
