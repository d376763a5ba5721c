/**
 * Ofelia jobs from the compose file's labels (`ofelia.job-exec.<name>.<param>`), with their
 * parsed schedules and what kind of backup each one makes (from its command).
 */
import type { ComposeModel, ComposeService } from '../infra';
import { ofeliaFiveFieldMode, parseOfeliaSchedule, type FiveFieldMode, type ParsedSchedule } from './cron';

export type JobBackupKind = 'full' | 'diff' | 'incr' | 'dump' | 'dumpAll' | 'baseBackup' | 'other';

export interface OfeliaJob {
  readonly name: string;
  readonly type: 'job-exec' | 'job-run' | 'job-local' | 'job-service-run';
  /** The service whose labels define it (job-exec runs in that service's container unless `container` is set). */
  readonly service: string;
  readonly scheduleSpec?: string;
  readonly command?: string;
  readonly user?: string;
  readonly noOverlap: boolean;
  readonly params: Readonly<Record<string, string>>;
  /** Parsed schedule; undefined with `scheduleError` when the spec is invalid or missing. */
  readonly schedule?: ParsedSchedule;
  readonly scheduleError?: string;
  readonly backupKind: JobBackupKind;
}

/** What a job's command makes: a pgBackRest backup (type from --type, default incr), a dump … */
export function backupKindOfCommand(command: string | undefined): JobBackupKind {
  if (!command) return 'other';
  const words = command.split(/\s+/);
  if (words.some((w) => /(^|\/)pgbackrest$/.test(w)) && words.includes('backup')) {
    const t = /--type[= ](full|diff|incr)\b/.exec(command)?.[1];
    return (t as JobBackupKind | undefined) ?? 'incr';
  }
  if (/\bpg_dumpall\b/.test(command)) return 'dumpAll';
  if (/\bpg_dump\b/.test(command)) return 'dump';
  if (/\bpg_basebackup\b/.test(command)) return 'baseBackup';
  return 'other';
}

export interface OfeliaSettings {
  /** The Ofelia service (image, TZ), if the compose file has one. */
  readonly service?: ComposeService;
  readonly timezone: string;
  readonly fiveField: FiveFieldMode;
  readonly saveFolder?: string;
}

export function ofeliaService(model: ComposeModel | undefined): ComposeService | undefined {
  return model?.services.find(
    (s) =>
      /(^|\/)ofelia(:|@|$)/i.test(s.image ?? '') || /ofelia/i.test(s.name) || s.labels['ofelia.service'] === 'true',
  );
}

export function ofeliaSettings(model: ComposeModel | undefined): OfeliaSettings {
  const service = ofeliaService(model);
  const tz = service?.environment['TZ'];
  return {
    service,
    timezone: tz && tz.trim() ? tz.trim() : 'UTC',
    fiveField: ofeliaFiveFieldMode(service?.image),
    saveFolder: service?.labels['ofelia.save-folder'] ?? service?.environment['OFELIA_SAVE_FOLDER'],
  };
}

const JOB_LABEL = /^ofelia\.(job-exec|job-run|job-local|job-service-run)\.([^.]+)\.(.+)$/i;

/** Every Ofelia job in the compose file (labels on any service; keys are case-insensitive). */
export function ofeliaJobs(
  model: ComposeModel | undefined,
  settings: OfeliaSettings = ofeliaSettings(model),
): OfeliaJob[] {
  if (!model) return [];
  const jobs = new Map<string, { type: OfeliaJob['type']; service: string; params: Record<string, string> }>();
  for (const s of model.services) {
    for (const [key, value] of Object.entries(s.labels)) {
      const m = JOB_LABEL.exec(key);
      if (!m) continue;
      const type = m[1]!.toLowerCase() as OfeliaJob['type'];
      const id = `${type}/${m[2]!}`;
      let j = jobs.get(id);
      if (!j) jobs.set(id, (j = { type, service: s.name, params: {} }));
      j.params[m[3]!.toLowerCase()] = value;
    }
  }
  return [...jobs.entries()].map(([id, j]) => {
    const name = id.slice(id.indexOf('/') + 1);
    const spec = j.params['schedule'];
    let schedule: ParsedSchedule | undefined;
    let scheduleError: string | undefined;
    if (!spec) scheduleError = `Job "${name}" on service ${j.service} has no ofelia.${j.type}.${name}.schedule label.`;
    else {
      try {
        schedule = parseOfeliaSchedule(spec, { timezone: settings.timezone, fiveField: settings.fiveField });
      } catch (e) {
        scheduleError = `${(e as Error).message} (label ofelia.${j.type}.${name}.schedule on service ${j.service})`;
      }
    }
    return {
      name,
      type: j.type,
      service: j.service,
      scheduleSpec: spec,
      command: j.params['command'],
      user: j.params['user'],
      noOverlap: j.params['no-overlap'] === 'true',
      params: j.params,
      schedule,
      scheduleError,
      backupKind: backupKindOfCommand(j.params['command']),
    };
  });
}
