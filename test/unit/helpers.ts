import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A temp folder with the given files (path → content); `dispose()` removes it. */
export function tempTree(files: Record<string, string>): { root: string; dispose(): void } {
  const root = mkdtempSync(join(tmpdir(), 'tsdb-ops-unit-'));
  for (const [rel, content] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
  return { root, dispose: () => rmSync(root, { recursive: true, force: true }) };
}

/** The compose file of the infra guide's stack (connect/infra/docker-compose.yaml). */
export const GUIDE_COMPOSE = `services:
  timescaledb:
    image: \${TIMESCALEDB_IMAGE}
    container_name: timescaledb
    entrypoint: ["/bin/bash", "/scripts/entrypoint.sh"]
    environment:
      POSTGRES_USER: \${POSTGRES_USER}
      POSTGRES_PASSWORD: \${POSTGRES_PASSWORD}
      POSTGRES_DB: \${POSTGRES_DB}
    ports:
      - "127.0.0.1:\${POSTGRES_PORT:-5432}:5432"
    volumes:
      - \${PG_DATA}:/home/postgres/pgdata/data
      - ./backups:/var/lib/pgbackrest
      - ./logs/pgbackrest:/var/log/pgbackrest
      - ./scripts:/scripts:ro
    healthcheck:
      test: ["CMD", "pg_isready", "-U", "\${POSTGRES_USER}"]
    labels:
      ofelia.enabled: "true"
      ofelia.job-exec.full-backup.schedule: "0 0 0 * * *"
      ofelia.job-exec.full-backup.command: "pgbackrest --stanza=db --type=full --log-level-stderr=info backup"
      ofelia.job-exec.diff-backup.schedule: "0 */15 * * * *"
      ofelia.job-exec.diff-backup.command: "pgbackrest --stanza=db --type=diff --log-level-stderr=info backup"
  ofelia:
    image: mcuadros/ofelia:988d988
    profiles: ["full"]
    command: daemon --docker
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock:ro
      - ./ofelia_logs:/tmp/logs
`;

export const GUIDE_ENV = `# Set ONLY_DATABASE=TRUE to start only the database
ONLY_DATABASE=FALSE
PG_DATA=./pgdata
TIMESCALEDB_IMAGE=timescale/timescaledb-ha:pg15-ts2.10
POSTGRES_USER=admin1234
POSTGRES_PASSWORD=secret
POSTGRES_DB=connect_db
POSTGRES_PORT=15432
OFELIA_SLACK_WEBHOOK=https://example.invalid/hook
`;
