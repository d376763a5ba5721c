-- Sensors that report readings.
CREATE TABLE IF NOT EXISTS sensors (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    location    TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
