// compare.mjs: render every case of cases.json with optd's template engine
// (through tpl_render_cli) and with liquidjs, and report where they differ.
//
//   node compare.mjs CLI [CASES]
//
// A case is {name, template, vars?, expected?, error?, liquidjs?}:
//   - both engines must print `expected`, or both refuse when `error` is
//     true; with neither, they must merely agree;
//   - `liquidjs: {expected | error, why}` records a deliberate difference
//     (template.h says why): liquidjs must then give that instead.
// Templates use optd's (Braze's) spelling; for liquidjs every ${name}
// becomes name, so `custom_attribute.${city}` reads vars.custom_attribute
// .city. Templates must not hold "${" anywhere else, and names in ${}
// must be identifiers. Prints each mismatch, then "N passed, N failed";
// exits 1 when anything failed.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Liquid } from 'liquidjs';

const here = dirname(fileURLToPath(import.meta.url));
const [cli, casesPath = join(here, 'cases.json')] = process.argv.slice(2);
if (!cli) {
  console.error('usage: node compare.mjs CLI [CASES]');
  process.exit(64);
}

// Unknown filters are errors in optd, so they must be in liquidjs too.
const engine = new Liquid({ strictFilters: true });

function toLiquid(template) {
  return template.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, '$1');
}

async function liquid(c) {
  try {
    return { out: await engine.parseAndRender(toLiquid(c.template), c.vars ?? {}) };
  } catch (e) {
    return { error: e.message };
  }
}

function optd(c) {
  const r = spawnSync(cli, [JSON.stringify(c.vars ?? {})], {
    input: c.template,
    encoding: 'utf8',
  });
  if (r.status === 0) return { out: r.stdout };
  if (r.status === 1 || r.status === 2) return { error: r.stderr.trim() };
  throw new Error(`${cli} failed (status ${r.status}): ${r.stderr}${r.error ?? ''}`);
}

// Does result r meet want ({expected} or {error: true})? null: anything.
function meets(r, want) {
  if (want.error) return 'error' in r;
  if ('expected' in want) return r.out === want.expected;
  return null;
}

const show = (r) => ('error' in r ? `error: ${r.error}` : JSON.stringify(r.out));

const cases = JSON.parse(readFileSync(casesPath, 'utf8'));
let passed = 0;
let failed = 0;
for (const c of cases) {
  const mine = optd(c);
  const theirs = await liquid(c);
  const problems = [];
  const want = { expected: c.expected, error: c.error };
  if (!('expected' in c)) delete want.expected;
  const wantLiquid = c.liquidjs ?? want;

  if (c.liquidjs && !c.liquidjs.why) problems.push('a difference needs a "why"');
  if (meets(mine, want) === false) problems.push(`optd gave ${show(mine)}`);
  if (meets(theirs, wantLiquid) === false)
    problems.push(`liquidjs gave ${show(theirs)}`);
  if (meets(mine, want) === null && meets(theirs, wantLiquid) === null &&
      show(mine) !== show(theirs))
    problems.push(`optd gave ${show(mine)}, liquidjs ${show(theirs)}`);
  if (problems.length) {
    failed++;
    console.log(`FAIL ${c.name}\n  template: ${JSON.stringify(c.template)}`);
    for (const p of problems) console.log(`  ${p}`);
  } else {
    passed++;
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
