// The GraphQL over HTTP server audits of the npm package graphql-http, run against a URL.
//
//   node scripts/graphql_http_audit.mjs http://127.0.0.1:8000/graphql [--table]
//
// One JSON line per audit on standard output ({id, requirement, name, status, reason,
// httpStatus}), or an aligned table with --table; a summary on standard error. The exit
// status is 1 when a MUST audit fails (graphql-http reports those as "error"), 2 on bad
// usage, 0 otherwise: SHOULD and MAY audits that fail are reported ("warn", "notice") but
// do not fail the run.

import { serverAudits } from 'graphql-http';

const args = process.argv.slice(2);
const table = args.includes('--table');
const url = args.find((arg) => !arg.startsWith('--'));
if (!url) {
  console.error('usage: node graphql_http_audit.mjs <graphql url> [--table]');
  process.exit(2);
}

async function describe(audit) {
  let result;
  try {
    result = await audit.fn();
  } catch (error) {
    // graphql-http throws (instead of reporting) when the request itself fails: count it as
    // a failed MUST whatever the audit's level, so an unreachable server fails the run.
    result = { id: audit.id, name: audit.name, status: 'error', reason: `request failed: ${error.message ?? error}` };
  }
  const line = {
    id: result.id,
    requirement: result.name.split(' ', 1)[0],
    name: result.name,
    status: result.status,
  };
  if (result.status !== 'ok') {
    line.reason = result.reason;
    line.httpStatus = result.response?.status;
  }
  return line;
}

// One after another: the audits are small, and the server's answers stay in order in its log.
const lines = [];
for (const audit of serverAudits({ url })) {
  lines.push(await describe(audit));
}

if (table) {
  const width = Math.max(...lines.map((line) => line.name.length));
  for (const line of lines) {
    const outcome = line.status === 'ok' ? 'ok' : `${line.status}: ${line.reason}`;
    console.log(`${line.id}  ${line.name.padEnd(width)}  ${outcome}`);
  }
} else {
  for (const line of lines) console.log(JSON.stringify(line));
}

const count = (status) => lines.filter((line) => line.status === status).length;
console.error(
  `${lines.length} audits: ${count('ok')} ok, ${count('error')} MUST failed, ` +
    `${count('warn')} SHOULD failed, ${count('notice')} MAY failed`,
);
process.exit(count('error') > 0 ? 1 : 0);
