-- Daily averages per sensor: a continuous aggregate with TimescaleDB, a plain view without it.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        EXECUTE $sql$
            CREATE MATERIALIZED VIEW IF NOT EXISTS readings_daily
            WITH (timescaledb.continuous) AS
            SELECT time_bucket('1 day', time) AS day, sensor_id, avg(value) AS avg_value, count(*) AS samples
            FROM readings GROUP BY day, sensor_id
            WITH NO DATA
        $sql$;
    ELSE
        CREATE OR REPLACE VIEW readings_daily AS
        SELECT date_trunc('day', time) AS day, sensor_id, avg(value) AS avg_value, count(*) AS samples
        FROM readings GROUP BY 1, 2;
    END IF;
END
$$;
