import Testing

/// The fleet's drills, one at a time: each starts a PostgreSQL of its own and up to four `serve`
/// nodes, and run side by side on two cores they starved each other and the rest of the suite
/// (writers, crash drills and peer scripts waiting on the machine timed out beside them).
@Suite(.serialized) enum FleetDrills {}
