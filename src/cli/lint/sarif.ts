/**
 * SARIF 2.1.0 for code scanning (GitHub's upload-sarif, GitLab, Azure DevOps): every rule with its text and
 * default level, one result per finding with a region; paths relative to the workspace (`%SRCROOT%`).
 */
import { isAbsolute, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RULES, type Severity } from '../../core/lint/rules';
import { CHANGED_SINCE_RULE } from '../../core/migrations/history';
import { sortFindings, type LintOutcome } from './formats';

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { error: 'error', warning: 'warning', info: 'note' };

interface SarifRule {
  id: string;
  shortDescription: { text: string };
  fullDescription: { text: string };
  help: { text: string };
  defaultConfiguration: { level: string };
  properties: { category: string };
}

function ruleTable(): SarifRule[] {
  const ours: SarifRule[] = RULES.map((r) => ({
    id: r.id,
    shortDescription: { text: r.what.replaceAll('`', '') },
    fullDescription: { text: r.why },
    help: { text: r.fix },
    defaultConfiguration: { level: LEVEL[r.severity] },
    properties: { category: r.category },
  }));
  ours.push({
    id: CHANGED_SINCE_RULE,
    shortDescription: { text: 'A migration that existed at the --since ref was edited, renamed or deleted' },
    fullDescription: { text: 'sqlx refuses to run when an applied migration changed or went missing.' },
    help: { text: 'Restore the file as it was and put the change in a new migration.' },
    defaultConfiguration: { level: 'error' },
    properties: { category: 'sqlx' },
  });
  return ours;
}

/** `root` is the folder `%SRCROOT%` stands for (the workspace); result paths are relative to it when inside. */
export function formatSarif(o: LintOutcome, version: string, root: string): string {
  const rules = ruleTable();
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const results = sortFindings(o.findings).map((f) => {
    const rel = relative(root, f.file);
    const inside = rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
    return {
      ruleId: f.rule,
      ruleIndex: index.get(f.rule) ?? -1,
      level: LEVEL[f.severity],
      message: { text: `${f.message} ${f.why} Fix: ${f.fix}` },
      locations: [
        {
          physicalLocation: {
            artifactLocation: inside
              ? { uri: encodeURI(rel.split(sep).join('/')), uriBaseId: '%SRCROOT%' }
              : { uri: pathToFileURL(f.file).href },
            region: {
              startLine: f.line,
              startColumn: f.column,
              endLine: Math.max(f.endLine, f.line),
              endColumn: f.endLine > f.line ? f.endColumn : Math.max(f.endColumn, f.column + 1),
            },
          },
        },
      ],
    };
  });
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'tsdb-ops',
            version,
            semanticVersion: version,
            informationUri: 'https://www.npmjs.com/package/tsdb-ops',
            rules,
          },
        },
        originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileURL(root.endsWith('/') ? root : `${root}/`).href } },
        invocations: [{ executionSuccessful: true }],
        results,
        properties: { sizesKnown: o.sizesKnown, sizesNote: o.sizesNote },
      },
    ],
  };
  return JSON.stringify(log, null, 2) + '\n';
}
