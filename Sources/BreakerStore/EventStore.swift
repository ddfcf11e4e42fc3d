public import BreakerCore
import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// The SQLite event log of SPEC §8: open it as the owner (one process, writes) or as a reader.
///
/// GRDB stays inside: nothing public mentions it. The schema is `migrations/*.sql`, embedded.
public final class EventStore: Sendable {
    /// The store's file path.
    public let path: String
    /// The configuration the store was created with: where a rebuild starts. The one in force
    /// now is ``configurationInForce()``.
    public let configuration: BreakerConfiguration
    /// Whether this process owns the store for writing.
    public var isOwner: Bool { lock != nil }

    let db: any DatabaseWriter
    let lock: StoreLock?

    /// The application id stamped in the SQLite header ("TBRK").
    static let applicationID: Int32 = 0x5442_524B
    /// The newest schema this build knows.
    public static let schemaVersion = Migrations.all.last!.version

    private init(path: String, configuration: BreakerConfiguration, db: any DatabaseWriter, lock: StoreLock?) {
        self.path = path
        self.configuration = configuration
        self.db = db
        self.lock = lock
    }

    // MARK: - Opening

    /// Opens `path` as its owner, creating it when missing (with `configuration`, or the
    /// defaults). Holds an exclusive lock until released; migrates an older schema forward.
    ///
    /// - Parameters:
    ///   - mustCreate: refuse a store that already exists (for `simulate`).
    ///   - mustExist: refuse to create a new store.
    ///   - maxPageCount: a cap on the store's size, in pages; writes past it fail as "disk full"
    ///     (default: `$BREAKER_MAX_PAGE_COUNT`, else none).
    /// - Throws: ``BreakerError`` — `store_locked` (naming the owner's pid), `schema_too_new`,
    ///   `store_corrupt`, `store_unavailable`. On any error the file is left unchanged.
    public static func openOwner(
        path: String, configuration: BreakerConfiguration? = nil, mustCreate: Bool = false, mustExist: Bool = false,
        maxPageCount: Int? = nil
    ) throws(BreakerError) -> EventStore {
        let presence = try checkWritable(path: path, mustCreate: mustCreate, mustExist: mustExist, inspectingContent: false)
        let lock = try StoreLock(storePath: path)
        var stored: BreakerConfiguration? = nil
        if case .present = presence {
            // Everything is checked read-only before anything is written.
            stored = try inspect(path: path)
        }
        let pool: DatabasePool
        do {
            var config = Configuration()
            config.busyMode = .timeout(10)
            let maxPages = maxPageCount ?? ProcessInfo.processInfo.environment["BREAKER_MAX_PAGE_COUNT"].flatMap { Int($0) }
            config.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
                // An optional cap on the store's size, in pages: writes past it fail as "disk full".
                if let maxPages { try db.execute(sql: "PRAGMA max_page_count = \(maxPages)") }
            }
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw storeError(error, path: path)
        }
        let effective = stored ?? configuration ?? .standard
        do {
            try pool.writeWithoutTransaction { db in
                try migrate(db, configuration: effective)
            }
        } catch let e as BreakerError {
            throw e
        } catch {
            throw storeError(error, path: path)
        }
        return EventStore(path: path, configuration: effective, db: pool, lock: lock)
    }

    /// Checks, without writing anything, that this process could write to the store at `path`:
    /// its directory and file are writable, it is a TenantBreaker store of a schema this build
    /// knows. Used before any write, so that bad input leaves the file exactly as it was.
    /// - Throws: ``BreakerError`` naming the problem and the fix.
    @discardableResult
    package static func checkWritable(
        path: String, mustCreate: Bool = false, mustExist: Bool = false, inspectingContent: Bool = true
    ) throws(BreakerError) -> StoreFile.Presence {
        let presence = try StoreFile.presence(path)
        if case .present = presence, mustCreate {
            throw BreakerError(
                .storeUnavailable, "store \(path) already exists; simulate writes a new store: choose another --db path or remove it",
                context: ["path": path])
        }
        if case .missing = presence, mustExist {
            throw BreakerError(
                .storeUnavailable, "no store at \(path); create one with `breakerctl simulate` or `breakerctl load`",
                context: ["path": path])
        }
        let dir = StoreFile.directory(of: path)
        guard StoreFile.isWritable(dir) else {
            throw BreakerError(
                .storeUnavailable, "directory \(dir) is not writable; the owner of a store needs to write beside it",
                context: ["path": path])
        }
        if case .present(let size) = presence {
            try StoreFile.checkHeader(path, size: size)
            guard StoreFile.isWritable(path) else {
                throw BreakerError(
                    .storeUnavailable, "store \(path) is read-only; the owner must be able to write it (check its permissions)",
                    context: ["path": path])
            }
        }
        if inspectingContent, case .present = presence { _ = try inspect(path: path) }
        return presence
    }

    /// Opens `path` for reading while an owner may be writing (reports, status, export).
    ///
    /// Not in the owner's own process: it reads the file's header outside SQLite, and closing
    /// that descriptor drops every POSIX lock the process holds on the file — the owner's
    /// connections would then look absent to other processes, and one of them could delete the
    /// WAL under the owner. An owner reads through its own store (a pool of readers).
    /// - Throws: ``BreakerError`` when the file is missing, not a store, corrupt or too new.
    public static func openReader(path: String) throws(BreakerError) -> EventStore {
        switch try StoreFile.presence(path) {
        case .missing:
            throw BreakerError(
                .storeUnavailable, "no store at \(path); create one with `breakerctl simulate` or `breakerctl load`, or pass --db",
                context: ["path": path])
        case .present(let size):
            try StoreFile.checkHeader(path, size: size)
        }
        guard let configuration = try inspect(path: path) else {
            throw BreakerError(
                .storeUnavailable,
                "store \(path) is empty (its creation was interrupted); an owner (serve, load, simulate) creates it afresh",
                context: ["path": path])
        }
        do {
            var config = Configuration()
            config.readonly = true
            config.busyMode = .timeout(10)
            let queue = try DatabaseQueue(path: path, configuration: config)
            return EventStore(path: path, configuration: configuration, db: queue, lock: nil)
        } catch {
            throw storeError(error, path: path)
        }
    }

    /// Reads the identity, schema version and configuration of an existing store, read-only.
    /// - Returns: `nil` for a SQLite file with nothing in it: a store whose creation was
    ///   interrupted (its first transaction never committed), which an owner creates afresh.
    private static func inspect(path: String) throws(BreakerError) -> BreakerConfiguration? {
        do {
            var config = Configuration()
            config.readonly = true
            config.busyMode = .timeout(10)
            let queue = try DatabaseQueue(path: path, configuration: config)
            return try queue.read { db throws -> BreakerConfiguration? in
                let appID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
                let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                if appID == 0, version == 0, try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") == 0 { return nil }
                guard appID == applicationID else {
                    throw BreakerError(
                        .storeCorrupt, "\(path) is a SQLite database but not a TenantBreaker store; choose another --db path",
                        context: ["path": path])
                }
                guard version <= schemaVersion else {
                    throw BreakerError(
                        .schemaTooNew,
                        "store \(path) was written by a newer TenantBreaker (schema \(version); this breakerctl knows up to \(schemaVersion)); upgrade breakerctl to open it",
                        context: ["path": path])
                }
                guard let json = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'configuration'") else {
                    throw BreakerError(.storeCorrupt, "store \(path) has no configuration record", context: ["path": path])
                }
                _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM snapshots")
                return try BreakerConfiguration(json: json)
            }
        } catch let e as BreakerError {
            throw e
        } catch {
            throw storeError(error, path: path)
        }
    }

    private static func migrate(_ db: Database, configuration: BreakerConfiguration) throws {
        let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        guard version < schemaVersion else { return }
        try db.inTransaction {
            for m in Migrations.all where m.version > version {
                try db.execute(sql: m.sql)
            }
            if version == 0 {
                try db.execute(
                    sql: "INSERT INTO meta(key, value) VALUES ('configuration', ?), ('created_by', 'TenantBreaker')",
                    arguments: [configuration.jsonText])
            }
            try db.execute(sql: "PRAGMA application_id = \(applicationID)")
            try db.execute(sql: "PRAGMA user_version = \(schemaVersion)")
            return .commit
        }
    }

    /// Maps a SQLite/GRDB error to a described ``BreakerError``.
    static func storeError(_ error: any Error, path: String) -> BreakerError {
        if let e = error as? BreakerError { return e }
        if let e = error as? DatabaseError {
            switch e.resultCode {
            case .SQLITE_FULL:
                return BreakerError(
                    .storeUnavailable, "disk full while writing \(path); free space and retry (nothing partial was committed)",
                    context: ["path": path])
            case .SQLITE_CORRUPT, .SQLITE_NOTADB:
                return BreakerError(
                    .storeCorrupt,
                    "\(path) is corrupt or not a TenantBreaker store (\(e.message ?? "malformed")); restore it from a backup",
                    context: ["path": path])
            case .SQLITE_READONLY:
                return BreakerError(.storeUnavailable, "store \(path) is read-only; check its permissions", context: ["path": path])
            case .SQLITE_CANTOPEN:
                return BreakerError(
                    .storeUnavailable, "cannot open \(path); check that its directory exists and is accessible", context: ["path": path])
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                return BreakerError(.storeLocked, "store \(path) is busy; retry in a moment", context: ["path": path])
            default:
                return BreakerError(.storeUnavailable, "store \(path): \(e.message ?? "\(e)")", context: ["path": path])
            }
        }
        return BreakerError(.storeUnavailable, "store \(path): \(error)", context: ["path": path])
    }

    func read<T>(_ body: (Database) throws -> T) throws(BreakerError) -> T {
        do {
            return try db.read { db in try body(db) }
        } catch {
            throw Self.storeError(error, path: path)
        }
    }

    /// The configuration in force after the last record: that of the last configuration change
    /// (SPEC §2), else the one the store was created with.
    public func configurationInForce() throws(BreakerError) -> BreakerConfiguration {
        let text = try read { db in try String.fetchOne(db, sql: "SELECT config FROM config_changes ORDER BY seq DESC LIMIT 1") }
        guard let text else { return configuration }
        do {
            return try BreakerConfiguration(json: text)
        } catch {
            throw BreakerError(
                .storeCorrupt, "the last configuration change in \(path) is not valid: \(error.message)", context: ["path": path])
        }
    }

    /// The owner's pid if some process owns the store now.
    public static func currentOwner(of path: String) -> String? { StoreLock.owner(of: path) }

    /// The pid and the status line (the log's health) that the process owning `path` publishes.
    package static func ownerStatus(of path: String) -> (pid: String, status: String)? { StoreLock.ownerStatus(of: path) }

    /// Publishes this owner's status line for other processes (`breakerctl status`).
    func publishOwnerStatus(_ status: String) { lock?.publish(status: status) }
}

extension EventStore {
    /// The whole schema's SQL, for tools that build a comparable raw database.
    public static var migrationSQL: String { Migrations.all.map(\.sql).joined(separator: "\n") }
}
