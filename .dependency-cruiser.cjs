// Floors of src (docs/architecture.md, "Floors"): each floor imports only the floors below it, never one
// above, and no file is part of an import circle. Type-only imports follow the same rule. `npm run lint` runs it.
/** From the ground up; the folders of one floor do not import each other either (except where listed below). */
const FLOORS = [
  ['core/format'],
  ['core/errors'],
  ['core/infra', 'core/operations'],
  ['core/docker', 'core/postgres', 'core/logs', 'core/lint'],
  ['core/runtime', 'core/schedule'],
  ['core/stack'],
  ['core/migrations'],
  ['core/backups'],
  ['core/status'],
  ['webview', 'api'],
  ['ui'],
  ['extension', 'cli'],
];

const path = (folder) => `^src/${folder}(\\.ts$|/)`;
const any = (folders) => `(${folders.map(path).join('|')})`;

const floorRules = FLOORS.flatMap((floor, i) => {
  const above = FLOORS.slice(i + 1).flat();
  return floor.flatMap((folder) => {
    const others = [...above, ...floor.filter((f) => f !== folder)];
    if (!others.length) return [];
    return [
      {
        name: `floors: ${folder}`,
        comment: `src/${folder} is on floor ${i + 1}: it may import only floors below it (${
          FLOORS.slice(0, i).flat().join(', ') || 'none'
        }). See docs/architecture.md, "Floors".`,
        severity: 'error',
        from: { path: path(folder) },
        to: { path: any(others) },
      },
    ];
  });
});

module.exports = {
  forbidden: [
    ...floorRules,
    {
      name: 'no-circular',
      comment: 'No import circles anywhere in src (docs/architecture.md, "Floors").',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|out|test|bench)/' },
    // Type-only imports count: a floor is a floor for types too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['es6', 'cjs'],
  },
};
