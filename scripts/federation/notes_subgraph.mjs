// The tests' second subgraph (notes.graphql) on loopback:
//
//   node notes_subgraph.mjs --port 4002
//
// It knows institutions only by id: `supervisionNote` is made from the id, and `noted`
// returns references that the gateway completes through the platform's `_entities`. It
// records nothing and checks no token: the platform's scope is what the tests exercise.

import { readFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';

const port = Number(process.argv[process.argv.indexOf('--port') + 1]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node notes_subgraph.mjs --port <port>');
  process.exit(2);
}

const typeDefs = parse(readFileSync(new URL('./notes.graphql', import.meta.url), 'utf8'));
const resolvers = {
  Query: {
    noted: (_, { ids }) => ids.map((id) => ({ id })),
  },
  Institution: {
    __resolveReference: ({ id }) => ({ id }),
    supervisionNote: ({ id }) => `监管备注 ${id}`,
  },
};

const server = new ApolloServer({
  schema: buildSubgraphSchema({ typeDefs, resolvers }),
  plugins: [ApolloServerPluginInlineTraceDisabled()],
});
const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port } });
console.log(`notes subgraph at ${url}`);
