-- Time-series readings; a hypertable when TimescaleDB is installed, a plain table otherwise.
CREATE TABLE IF NOT EXISTS readings (
    time       TIMESTAMPTZ NOT NULL,
    sensor_id  BIGINT NOT NULL REFERENCES sensors (id),
    value      DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS readings_sensor_time_idx ON readings (sensor_id, time DESC);
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        PERFORM create_hypertable('readings', 'time', if_not_exists => TRUE);
    END IF;
END
$$;
