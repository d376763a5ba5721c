// Mocha's spec reporter, plus a closing line `N passed, N failed` that CI reads,
// and an optional JSON summary (TSDB_OPS_TEST_SUMMARY=<file>) that test/run-all.ts adds up.
'use strict';
const Mocha = require('mocha');
const fs = require('node:fs');

class Reporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    let passed = 0;
    let failed = 0;
    let pending = 0;
    runner.on(Mocha.Runner.constants.EVENT_TEST_PASS, () => passed++);
    runner.on(Mocha.Runner.constants.EVENT_TEST_FAIL, () => failed++);
    runner.on(Mocha.Runner.constants.EVENT_TEST_PENDING, () => pending++);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      process.stdout.write(`\n${passed} passed, ${failed} failed${pending ? `, ${pending} skipped` : ''}\n`);
      const file = process.env.TSDB_OPS_TEST_SUMMARY;
      if (file) fs.writeFileSync(file, JSON.stringify({ passed, failed, skipped: pending }));
    });
  }
}
module.exports = Reporter;
