/**
 * "Copy Nightly Drill Schedule…" (`tsdbOps.backup.copyNightlyDrill`, the walkthrough's last step and the Drills node's
 * menu): copies the systemd service + timer, or the crontab line, that run `tsdb-ops drill --max-age-days 1` for the
 * stack every night (core/backups/drill/nightly). Its reports land in the drills folder, which the Backups view
 * watches. Args `{ folder?, schedule?: 'systemd' | 'cron' }`; without `schedule` a quick pick when interactive, and
 * systemd with args. Result `{ schedule, text }`.
 */
import * as vscode from 'vscode';
import type { StackConfig } from '../../core/infra';
import { nightlyDrillText, type NightlySchedule } from '../../core/backups/drill';
import type { StackRegistry } from '../stacks';
import { pickStack, str } from './args';
import { CancelledByUser, register } from './register';
import { COMMAND } from '../ids';

const PICKS: (vscode.QuickPickItem & { schedule: NightlySchedule })[] = [
  { label: 'systemd timer', description: 'a service and a timer in /etc/systemd/system', schedule: 'systemd' },
  { label: 'cron', description: 'one crontab line', schedule: 'cron' },
];

export function registerNightlyDrillCommand(ctx: {
  registry: StackRegistry;
  log: vscode.LogOutputChannel;
}): vscode.Disposable {
  return register<{ stack?: StackConfig }>(
    ctx,
    COMMAND.backupCopyNightlyDrill,
    async function copyNightlyDrill(args, node) {
      const stack = node?.stack ?? (await pickStack(ctx.registry, args));
      if (!stack) throw new CancelledByUser();
      let schedule = str(args, 'schedule') as NightlySchedule | undefined;
      if (!schedule && !args) {
        const pick = await vscode.window.showQuickPick(PICKS, {
          title: `Nightly restore drill of ${stack.projectName}`,
        });
        if (!pick) throw new CancelledByUser();
        schedule = pick.schedule;
      }
      schedule ??= 'systemd';
      const text = nightlyDrillText(
        { project: stack.projectName, workspaceFolder: stack.workspaceFolder, infraDir: stack.infraDir },
        schedule,
      );
      await vscode.env.clipboard.writeText(text);
      ctx.log.info(`Copied the ${schedule} schedule of a nightly restore drill of ${stack.projectName}.`);
      if (!args)
        void vscode.window.showInformationMessage(
          schedule === 'systemd'
            ? `Copied: a service and a timer for /etc/systemd/system, then "systemctl enable --now" (the last line says which).`
            : 'Copied: one crontab line (crontab -e, as a user that may use Docker).',
        );
      return { schedule, text };
    },
  );
}
