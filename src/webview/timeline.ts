/// <reference lib="dom" />
/**
 * The Recovery Timeline webview: draws the TimelineModel the extension posts (core/backups/timeline)
 * on one time axis with d3-scale (time scale), d3-axis and d3-zoom (wheel, drag, buttons, keys), and
 * posts the user's actions back; the extension runs the restore commands. Bundled by esbuild
 * (esbuild.mjs) into dist/timeline.js. Colours come from VS Code's theme variables (media/timeline.css).
 */
import { scaleTime, type ScaleTime } from 'd3-scale';
import { select, type BaseType, type Selection } from 'd3-selection';
import { zoom, zoomIdentity, type ZoomBehavior, type ZoomTransform } from 'd3-zoom';
import { axisBottom } from 'd3-axis';
import { formatBytes } from '../core/format';
import type {
  TimelineDrill,
  TimelineManual,
  TimelineMigration,
  TimelineModel,
  TimelineSet,
  TimelineCopy,
} from '../core/backups/timeline';
import type { TimelineAction } from '../core/backups/timeline-restore';

/** What the webview posts (the extension's TimelinePanel handles them; core/backups/timeline-restore plans them). */
export type { TimelineAction };

export type WebviewMessage =
  | { type: 'ready' }
  | { type: 'rendered'; marks: Record<string, number>; ms: number }
  | { type: 'action'; action: TimelineAction };

declare function acquireVsCodeApi(): { postMessage(m: WebviewMessage): void };
const vscode = acquireVsCodeApi();

const LANES = { sets: 30, wal: 78, manual: 112, migrations: 150, drills: 196 } as const;
const HEIGHT = 250;
const MARGIN = { left: 110, right: 24 };

const fmtTime = (t: number) =>
  new Date(t)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
function fmtDuration(ms: number | undefined): string {
  if (ms === undefined) return 'not recorded';
  return ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

interface Card {
  title: string;
  lines: string[];
  action?: { label: string; run: () => void };
}

const root = document.getElementById('timeline')!;
const card = document.getElementById('card')!;
const status = document.getElementById('status')!;
let model: TimelineModel | undefined;
let width = 800;
let base: ScaleTime<number, number> = scaleTime();
let x: ScaleTime<number, number> = base;
let zoomer: ZoomBehavior<SVGSVGElement, unknown> | undefined;
let svg: Selection<SVGSVGElement, unknown, null, undefined> | undefined;
let cardPinned = false;
/** The zoom/pan the user chose, kept when a new model arrives (a backup or migration appeared). */
let kept: ZoomTransform = zoomIdentity;

function post(action: TimelineAction): void {
  vscode.postMessage({ type: 'action', action });
}

function showCard(c: Card, at: { x: number; y: number }, pin = false): void {
  cardPinned = pin;
  card.replaceChildren();
  const h = document.createElement('div');
  h.className = 'card-title';
  h.textContent = c.title;
  card.append(h);
  for (const line of c.lines) {
    const p = document.createElement('div');
    p.textContent = line;
    card.append(p);
  }
  if (c.action && !pin) {
    const hint = document.createElement('div');
    hint.className = 'card-hint';
    hint.textContent = `Click or Enter: ${c.action.label}`;
    card.append(hint);
  } else if (c.action) {
    const b = document.createElement('button');
    b.textContent = c.action.label;
    b.addEventListener('click', () => {
      hideCard();
      c.action!.run();
    });
    card.append(b);
  }
  card.hidden = false;
  // Below and right of the pointer (or the focused mark), inside the window; only a pinned card takes the pointer.
  card.classList.toggle('pinned', pin);
  card.style.left = `${Math.max(0, Math.min(at.x + 12, window.innerWidth - 340)) + window.scrollX}px`;
  card.style.top = `${at.y + 16 + window.scrollY}px`;
}
function hideCard(): void {
  cardPinned = false;
  card.hidden = true;
}

function setCard(s: TimelineSet): Card {
  return {
    title: `${s.type} backup ${s.label}`,
    lines: [
      `${fmtTime(s.start)} → ${fmtTime(s.stop)}`,
      `size ${formatBytes(s.sizeBytes)} · repository ${formatBytes(s.repoSizeBytes)}`,
      ...(s.prior ? [`based on ${s.prior}`] : []),
      ...(s.walStart ? [`WAL ${s.walStart} … ${s.walStop ?? '?'}`] : []),
      ...(s.error ? ['page checksum errors were found in this backup'] : []),
    ],
    action: { label: 'Restore exactly this set…', run: () => post({ kind: 'restoreSet', label: s.label }) },
  };
}
function manualCard(m: TimelineManual): Card {
  return {
    title: `${m.kind} ${m.name}`,
    lines: [fmtTime(m.at), formatBytes(m.sizeBytes), ...(m.database ? [`database ${m.database}`] : [])],
    action: {
      label: 'Restore this backup…',
      run: () => post({ kind: 'restoreManual', path: m.path, backupKind: m.kind }),
    },
  };
}
function migrationCard(m: TimelineMigration): Card {
  return {
    title: `migration ${m.version} ${m.description}`,
    lines: [
      `applied ${fmtTime(m.installedOn)}`,
      `took ${fmtDuration(m.durationMs)}`,
      m.noTransaction
        ? '-- no-transaction: a restore to just before it is approximate'
        : 'ran in one transaction: a restore before it targets that transaction',
    ],
    action: {
      label: 'Restore to just before this migration…',
      run: () => post({ kind: 'restoreBeforeMigration', version: m.version }),
    },
  };
}
function drillCard(d: TimelineDrill): Card {
  return {
    title: `restore drill ${d.ok ? 'passed' : 'failed'}`,
    lines: [fmtTime(d.at), ...(d.source ? [`source ${d.source}`] : []), ...d.failures],
  };
}
function copyCard(c: TimelineCopy): Card {
  return {
    title: `pre-restore copy ${c.name}`,
    lines: [fmtTime(c.at), ...(c.sizeBytes !== undefined ? [formatBytes(c.sizeBytes)] : []), c.path],
  };
}

/** A focusable mark: hover and focus show its card, Enter/Space/click opens it pinned with its action. */
function interactive<E extends BaseType, D>(
  sel: Selection<E, D, SVGGElement, unknown>,
  cardOf: (d: D) => Card,
  label: (d: D) => string,
): void {
  sel
    .attr('tabindex', 0)
    .attr('role', 'button')
    .attr('aria-label', label)
    .on('mouseenter', (ev: Event, d) => {
      const me = ev as MouseEvent;
      if (!cardPinned) showCard(cardOf(d), { x: me.clientX, y: me.clientY });
    })
    .on('mouseleave', () => {
      if (!cardPinned) hideCard();
    })
    .on('focus', (ev: Event, d) => {
      const r = (ev.target as Element).getBoundingClientRect();
      showCard(cardOf(d), { x: r.left, y: r.bottom });
    })
    .on('click', (ev: Event, d) => {
      const me = ev as MouseEvent;
      me.stopPropagation();
      showCard(cardOf(d), { x: me.clientX, y: me.clientY }, true);
    })
    .on('keydown', (ev: Event, d) => {
      const ke = ev as KeyboardEvent;
      if (ke.key !== 'Enter' && ke.key !== ' ') return;
      ev.preventDefault();
      const c = cardOf(d);
      if (c.action) c.action.run();
    });
}

function render(m: TimelineModel): void {
  const started = performance.now();
  width = Math.max(400, root.clientWidth || 800);
  base = scaleTime()
    .domain([new Date(m.extent.from), new Date(m.extent.to)])
    .range([MARGIN.left, width - MARGIN.right]);
  x = base;
  select(root).selectAll('svg').remove();
  svg = select(root)
    .append('svg')
    .attr('width', width)
    .attr('height', HEIGHT)
    .attr('role', 'group')
    .attr('aria-label', `Recovery timeline of ${m.project}`);
  const s = svg;
  s.append('clipPath')
    .attr('id', 'clip')
    .append('rect')
    .attr('x', MARGIN.left)
    .attr('y', 0)
    .attr('width', width - MARGIN.left - MARGIN.right)
    .attr('height', HEIGHT);
  for (const [name, y] of Object.entries({
    'pgBackRest sets': LANES.sets,
    'archived WAL': LANES.wal,
    'manual backups': LANES.manual,
    migrations: LANES.migrations,
    'drills, copies': LANES.drills,
  }))
    s.append('text')
      .attr('class', 'lane-label')
      .attr('x', 8)
      .attr('y', y + 4)
      .text(name);
  const axisG = s
    .append('g')
    .attr('class', 'axis')
    .attr('transform', `translate(0,${HEIGHT - 24})`);
  const plot = s.append('g').attr('clip-path', 'url(#clip)');

  // Archived WAL: covered spans (click = restore to that moment), gaps hatched.
  const walG = plot.append('g').attr('class', 'wal');
  const covered = walG
    .selectAll('rect.wal-covered')
    .data(m.wal.covered)
    .join('rect')
    .attr('class', 'mark wal-covered')
    .attr('y', LANES.wal - 9)
    .attr('height', 18)
    .attr('aria-label', (d) => `archived WAL from ${fmtTime(d.from)} to ${fmtTime(d.to)}: point-in-time recovery`)
    .attr('tabindex', 0)
    .attr('role', 'button')
    .on('mousemove', (ev: MouseEvent) => {
      if (cardPinned) return;
      const t = x.invert(ev.offsetX).getTime();
      showCard(
        { title: 'archived WAL: point-in-time recovery', lines: [fmtTime(t), 'click to restore to this moment'] },
        { x: ev.clientX, y: ev.clientY },
      );
    })
    .on('mouseleave', () => !cardPinned && hideCard())
    .on('click', (ev: MouseEvent) => {
      ev.stopPropagation();
      const t = Math.round(x.invert(ev.offsetX).getTime() / 1000) * 1000;
      showCard(
        {
          title: 'archived WAL: point-in-time recovery',
          lines: [fmtTime(t)],
          action: { label: 'Restore to this moment…', run: () => post({ kind: 'restoreTime', time: t }) },
        },
        { x: ev.clientX, y: ev.clientY },
        true,
      );
    })
    .on('keydown', (ev: KeyboardEvent, d) => {
      if (ev.key !== 'Enter' && ev.key !== ' ') return;
      ev.preventDefault();
      post({ kind: 'restoreTime', time: Math.floor(d.to / 1000) * 1000 });
    });
  const gaps = walG
    .selectAll('rect.wal-gap')
    .data(m.wal.gaps)
    .join('rect')
    .attr('class', 'mark wal-gap')
    .attr('y', LANES.wal - 9)
    .attr('height', 18);
  interactive(
    gaps,
    (d) => ({
      title: 'gap: no archived WAL',
      lines: [`${fmtTime(d.from)} → ${fmtTime(d.to)}`, 'no point-in-time recovery here'],
    }),
    (d) => `WAL gap from ${fmtTime(d.from)} to ${fmtTime(d.to)}`,
  );
  const newest = plot
    .selectAll('line.newest')
    .data(m.newestRecoverable !== undefined ? [m.newestRecoverable] : [])
    .join('line')
    .attr('class', 'mark newest')
    .attr('y1', 8)
    .attr('y2', HEIGHT - 24);
  interactive(
    newest,
    (t) => ({ title: 'newest recoverable moment', lines: [fmtTime(t)] }),
    (t) => `newest recoverable moment ${fmtTime(t)}`,
  );

  const sets = plot
    .append('g')
    .selectAll('rect.set')
    .data(m.sets)
    .join('rect')
    .attr('class', (d) => `mark set set-${d.type}${d.error ? ' set-error' : ''}`)
    .attr('y', (d) => LANES.sets - (d.type === 'full' ? 12 : d.type === 'diff' ? 9 : 6))
    .attr('height', (d) => (d.type === 'full' ? 24 : d.type === 'diff' ? 18 : 12));
  interactive(
    sets,
    setCard,
    (d) => `${d.type} backup ${d.label}, ended ${fmtTime(d.stop)}, ${formatBytes(d.sizeBytes)}`,
  );

  const manual = plot
    .append('g')
    .selectAll('path.manual')
    .data(m.manual)
    .join('path')
    .attr('class', (d) => `mark manual manual-${d.kind}`)
    .attr('d', 'M0,-8 L8,0 L0,8 L-8,0 Z');
  interactive(manual, manualCard, (d) => `${d.kind} ${d.name}, ${fmtTime(d.at)}`);

  const migG = plot.append('g');
  const migrations = migG
    .selectAll('g.migration')
    .data(m.migrations)
    .join('g')
    .attr('class', (d) => `mark migration${d.noTransaction ? ' migration-notx' : ''}`);
  migrations
    .append('line')
    .attr('y1', LANES.migrations - 12)
    .attr('y2', LANES.migrations + 12);
  migrations
    .append('text')
    .attr('class', 'migration-label')
    .attr('y', LANES.migrations + 24)
    .text((d) => d.version);
  interactive(
    migrations,
    migrationCard,
    (d) => `migration ${d.version} ${d.description}, applied ${fmtTime(d.installedOn)}`,
  );

  const drills = plot
    .append('g')
    .selectAll('circle.drill')
    .data(m.drills)
    .join('circle')
    .attr('class', (d) => `mark drill ${d.ok ? 'drill-ok' : 'drill-failed'}`)
    .attr('cy', LANES.drills)
    .attr('r', 6);
  interactive(drills, drillCard, (d) => `restore drill ${d.ok ? 'passed' : 'failed'} ${fmtTime(d.at)}`);
  const copies = plot
    .append('g')
    .selectAll('rect.copy')
    .data(m.preRestore)
    .join('rect')
    .attr('class', 'mark pre-restore')
    .attr('y', LANES.drills - 6)
    .attr('width', 12)
    .attr('height', 12);
  interactive(copies, copyCard, (d) => `pre-restore copy ${d.name}`);

  const place = () => {
    axisG.call(axisBottom(x).ticks(Math.max(2, Math.floor(width / 120))));
    covered.attr('x', (d) => x(d.from)).attr('width', (d) => Math.max(1, x(d.to) - x(d.from)));
    gaps.attr('x', (d) => x(d.from)).attr('width', (d) => Math.max(1, x(d.to) - x(d.from)));
    newest.attr('x1', (t) => x(t)).attr('x2', (t) => x(t));
    sets.attr('x', (d) => x(d.start)).attr('width', (d) => Math.max(3, x(d.stop) - x(d.start)));
    manual.attr('transform', (d) => `translate(${x(d.at)},${LANES.manual})`);
    migrations.attr('transform', (d) => `translate(${x(d.installedOn)},0)`);
    // Version labels that would overlap the previous one are hidden (the tick and its card stay).
    let lastLabel = -Infinity;
    migrations.select('text').attr('visibility', (d) => {
      const px = x(d.installedOn);
      if (px - lastLabel < 96) return 'hidden';
      lastLabel = px;
      return 'visible';
    });
    drills.attr('cx', (d) => x(d.at));
    copies.attr('x', (d) => x(d.at) - 6);
  };
  zoomer = zoom<SVGSVGElement, unknown>()
    .scaleExtent([0.5, 100_000])
    .translateExtent([
      [MARGIN.left - width, 0],
      [width * 2, HEIGHT],
    ])
    .on('zoom', (ev: { transform: ZoomTransform }) => {
      kept = ev.transform;
      x = ev.transform.rescaleX(base);
      place();
    });
  s.call(zoomer).on('dblclick.zoom', null);
  if (kept !== zoomIdentity) s.call(zoomer.transform, kept);
  s.on('click', () => hideCard());
  place();

  const marks = {
    sets: m.sets.length,
    walCovered: m.wal.covered.length,
    walGaps: m.wal.gaps.length,
    manual: m.manual.length,
    migrations: m.migrations.length,
    drills: m.drills.length,
    preRestore: m.preRestore.length,
  };
  status.textContent =
    `${m.project} · stanza ${m.stanza} · ${m.sets.length} sets · ${m.manual.length} manual backups · ` +
    `${m.migrations.length} migrations` +
    (m.newestRecoverable !== undefined ? ` · newest recoverable ${fmtTime(m.newestRecoverable)}` : '') +
    (m.problems.length ? ` · ${m.problems.join(' · ')}` : '');
  vscode.postMessage({ type: 'rendered', marks, ms: performance.now() - started });
}

function zoomBy(k: number): void {
  if (svg && zoomer) svg.call(zoomer.scaleBy, k);
}
function panBy(px: number): void {
  if (svg && zoomer) svg.call(zoomer.translateBy, px, 0);
}

document.getElementById('zoom-in')!.addEventListener('click', () => zoomBy(1.5));
document.getElementById('zoom-out')!.addEventListener('click', () => zoomBy(1 / 1.5));
document
  .getElementById('zoom-reset')!
  .addEventListener('click', () => svg && zoomer && svg.call(zoomer.transform, zoomIdentity));
root.addEventListener('keydown', (ev) => {
  if (ev.key === '+' || ev.key === '=') zoomBy(1.5);
  else if (ev.key === '-') zoomBy(1 / 1.5);
  else if (ev.key === 'ArrowLeft') panBy(60);
  else if (ev.key === 'ArrowRight') panBy(-60);
  else if (ev.key === 'Escape') hideCard();
  else return;
  ev.preventDefault();
});
window.addEventListener('resize', () => model && render(model));
window.addEventListener('message', (ev: MessageEvent<{ type: string; model?: TimelineModel }>) => {
  if (ev.data.type === 'model' && ev.data.model) {
    model = ev.data.model;
    render(model);
  }
});
vscode.postMessage({ type: 'ready' });
