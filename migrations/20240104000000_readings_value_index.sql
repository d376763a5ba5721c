-- no-transaction
CREATE INDEX CONCURRENTLY IF NOT EXISTS readings_value_idx ON readings (value);
