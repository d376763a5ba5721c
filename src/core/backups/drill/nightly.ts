/**
 * A nightly restore drill on the host, without the editor: the systemd service + timer, or the crontab line, that run
 * `tsdb-ops drill --max-age-days 1` for one stack (the walkthrough's last step copies them). The reports land in the
 * stack's drills folder, where the extension watches for them. Text only: nothing here runs a process.
 */

export const NIGHTLY_SCHEDULES = ['systemd', 'cron'] as const;
export type NightlySchedule = (typeof NIGHTLY_SCHEDULES)[number];

export interface NightlyDrillInput {
  /** The compose project (names the systemd units). */
  readonly project: string;
  /** The workspace folder (the command line reads its `.vscode/settings.json`). */
  readonly workspaceFolder: string;
  /** The infra folder (`--infra`). */
  readonly infraDir: string;
  /** When it runs (local time of the host), default 03:30. */
  readonly hour?: number;
  readonly minute?: number;
}

/** The drill command the schedules run: drills only when the newest passing drill is older than a day, or failed. */
export const NIGHTLY_DRILL_ARGS = ['drill', '--max-age-days', '1'] as const;

/** A value inside double quotes for a systemd unit line (systemd.syntax: backslash escapes; `%` is a specifier). */
function systemdQuote(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%')}"`;
}

/** A value for /bin/sh in a crontab line (single quotes; `%` ends a crontab command unless escaped). */
function cronQuote(v: string): string {
  return `'${v.replace(/'/g, `'\\''`)}'`.replace(/%/g, '\\%');
}

/** The systemd service + timer (two files) or the crontab line for a nightly drill of the stack. */
export function nightlyDrillText(input: NightlyDrillInput, schedule: NightlySchedule): string {
  const hour = input.hour ?? 3;
  const minute = input.minute ?? 30;
  const hh = String(hour).padStart(2, '0');
  const mm = String(minute).padStart(2, '0');
  const drill = (infra: string) => `npx --yes tsdb-ops drill --infra ${infra} ${NIGHTLY_DRILL_ARGS.slice(1).join(' ')}`;
  if (schedule === 'cron')
    return [
      `# crontab -e (as a user that may use Docker): a restore drill of ${input.project} every night at ${hh}:${mm}.`,
      '# tsdb-ops drills only when the newest passing drill is older than a day (or the newest failed); exit 1 = failed.',
      `${minute} ${hour} * * * cd ${cronQuote(input.workspaceFolder)} && timeout 2h ${drill(cronQuote(input.infraDir))}`,
      '',
    ].join('\n');
  const unit = `tsdb-ops-drill-${input.project.replace(/[^a-zA-Z0-9_-]+/g, '-')}`;
  return [
    `# /etc/systemd/system/${unit}.service`,
    '[Unit]',
    `Description=Restore drill of ${input.project} (tsdb-ops)`,
    'Wants=docker.service',
    'After=docker.service',
    '',
    '[Service]',
    'Type=oneshot',
    `WorkingDirectory=${systemdQuote(input.workspaceFolder)}`,
    `ExecStart=/usr/bin/env ${drill(systemdQuote(input.infraDir))}`,
    '# A drill stopped at the time limit leaves nothing behind (the next run sweeps what it left).',
    'TimeoutStartSec=2h',
    '',
    `# /etc/systemd/system/${unit}.timer`,
    '[Unit]',
    `Description=Nightly restore drill of ${input.project} (tsdb-ops)`,
    '',
    '[Timer]',
    `OnCalendar=*-*-* ${hh}:${mm}:00`,
    'Persistent=true',
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
    `# then: systemctl daemon-reload && systemctl enable --now ${unit}.timer`,
    '',
  ].join('\n');
}
