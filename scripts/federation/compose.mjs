// Composes the supergraph from the platform's committed subgraph SDL (../../schema.graphql)
// and the tests' notes subgraph (notes.graphql) with @apollo/composition:
//
//   node compose.mjs --xwpx-url http://127.0.0.1:8000/graphql \
//                    --notes-url http://127.0.0.1:4002/ [--output supergraph.graphql]
//
// Every hint is printed on standard error. The exit status is 1 on any composition error,
// and on any hint at the WARN level (a composition that works but probably not as
// intended); the supergraph SDL goes to --output or standard output.

import { readFileSync, writeFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

function option(name) {
  const index = process.argv.indexOf(name);
  return index > 0 ? process.argv[index + 1] : undefined;
}

const xwpxUrl = option('--xwpx-url');
const notesUrl = option('--notes-url');
if (!xwpxUrl || !notesUrl) {
  console.error('usage: node compose.mjs --xwpx-url <url> --notes-url <url> [--output <file>]');
  process.exit(2);
}

const read = (relative) => readFileSync(new URL(relative, import.meta.url), 'utf8');
const result = composeServices([
  { name: 'xwpx', url: xwpxUrl, typeDefs: parse(read('../../schema.graphql')) },
  { name: 'notes', url: notesUrl, typeDefs: parse(read('./notes.graphql')) },
]);

for (const hint of result.hints ?? []) {
  console.error(`hint ${hint.definition.level.name} ${hint.definition.code}: ${hint.message}`);
}
if (result.errors) {
  for (const error of result.errors) console.error(`error: ${error.message}`);
  process.exit(1);
}
const warnings = (result.hints ?? []).filter((hint) => hint.definition.level.name === 'WARN');
if (warnings.length > 0) {
  console.error(`${warnings.length} hint(s) at the WARN level`);
  process.exit(1);
}

const output = option('--output');
if (output) writeFileSync(output, result.supergraphSdl);
else process.stdout.write(result.supergraphSdl);
