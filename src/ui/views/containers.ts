/** Containers view: one row per compose service (issue 6 adds live state from the Docker Engine). */
import * as vscode from 'vscode';
import type { StackConfig } from '../../core/infra';
import { leaf, openFileCommand, problemNode, StackTreeProvider, type Node } from './node';

export class ContainersProvider extends StackTreeProvider {
  protected stackChildren(stack: StackConfig): Node[] {
    const problems = stack.problems.map(problemNode);
    const services = (stack.compose?.services ?? []).map((s) => {
      const item = new vscode.TreeItem(s.name);
      const isDb = s.name === stack.dbService?.name;
      item.id = `${stack.composeFile}#${s.name}`;
      item.description = [s.image ?? '(no image)', s.profiles.length ? `profile ${s.profiles.join(', ')}` : ''].filter(Boolean).join(' · ');
      item.iconPath = new vscode.ThemeIcon(isDb ? 'database' : 'package');
      item.contextValue = `service${isDb ? '.database' : ''}`;
      const ports = s.ports.map((p) => `${p.hostIp ? `${p.hostIp}:` : ''}${p.published ?? ''}${p.published ? '→' : ''}${p.target}/${p.protocol}`);
      const md = new vscode.MarkdownString(undefined, true);
      md.appendMarkdown(`**${s.name}**${isDb ? ' — database service' : ''}\n\n`);
      md.appendMarkdown(`- image: \`${s.image ?? '(none)'}\`\n`);
      md.appendMarkdown(`- profiles: ${s.profiles.length ? s.profiles.join(', ') : '(always started)'}\n`);
      if (ports.length) md.appendMarkdown(`- ports: ${ports.join(', ')}\n`);
      if (s.volumes.length) md.appendMarkdown(`- volumes: ${s.volumes.map((v) => `\`${v.source ?? '(anonymous)'}\` → \`${v.target}\``).join(', ')}\n`);
      md.appendMarkdown(`- project: \`${stack.projectName}\``);
      item.tooltip = md;
      item.command = openFileCommand(stack.composeFile, s.line);
      return leaf(item);
    });
    return [...problems, ...services];
  }
}
