"""Server layer: connections, the command table, inline-or-pool dispatch, cache, limits, metrics."""
