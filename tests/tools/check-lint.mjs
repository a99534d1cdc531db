// Reads `web-ext lint --output json` on stdin, prints every finding, and fails on any error.
let input = '';
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', () => {
  const report = JSON.parse(input);
  for (const level of ['errors', 'warnings', 'notices']) {
    for (const m of report[level]) console.log(`${level.slice(0, -1)}: ${m.code} ${m.message} (${m.file ?? ''})`);
  }
  console.log(`web-ext lint: ${report.summary.errors} errors, ${report.summary.warnings} warnings, ${report.summary.notices} notices`);
  process.exit(report.summary.errors === 0 ? 0 : 1);
});
