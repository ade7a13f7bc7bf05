// An Apollo Gateway on loopback over a composed supergraph (compose.mjs):
//
//   node gateway.mjs --supergraph supergraph.graphql --port 4000
//
// The caller's Authorization header goes with every subgraph request, so the platform
// answers as the caller: its region scope applies to the gateway's `_entities` lookups as
// to any other read. Without the header the platform serves its public part.

import { readFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';

function option(name) {
  const index = process.argv.indexOf(name);
  return index > 0 ? process.argv[index + 1] : undefined;
}

const supergraph = option('--supergraph');
const port = Number(option('--port'));
if (!supergraph || !Number.isInteger(port) || port <= 0) {
  console.error('usage: node gateway.mjs --supergraph <file> --port <port>');
  process.exit(2);
}

class ForwardAuthorization extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    if (context.authorization) request.http.headers.set('authorization', context.authorization);
  }
}

const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(supergraph, 'utf8'),
  buildService: ({ url }) => new ForwardAuthorization({ url }),
});
// No stack traces in answers, whatever NODE_ENV says.
const server = new ApolloServer({ gateway, includeStacktraceInErrorResponses: false });
const { url } = await startStandaloneServer(server, {
  listen: { host: '127.0.0.1', port },
  context: async ({ req }) => ({ authorization: req.headers.authorization }),
});
console.log(`gateway at ${url}`);
