// The peer server of bench/peers.py: PostGraphile v5 (the Amber preset) over the same
// database as the platform's server, one Node.js process.
//
//   node server.mjs   (environment: PEERS_DATABASE_URL, PEERS_PORT, PEERS_JWT_SECRET, PEERS_POOL)
//
// Two ways in, on the same process:
// - without Authorization: the connection's own role (the database owner), no row-level
//   security: the list page asks for one county with a `condition` on regionCode;
// - with `Authorization: Bearer <JWT>` (HS256, audience "postgraphile"): PostGraphile's JWT
//   preset verifies it and sets, for the request's transaction, `role` from the `role` claim
//   (xwpx_peers_viewer) and `jwt.claims.region_path` from the `region_path` claim, which
//   the row-level-security policy of bench/peers.py reads.
// Exposed: the application's tables (schema public) and the few functions bench/peers.py
// adds in schema xwpx_peers (computed columns, the public name search).
import { createServer } from "node:http";

import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { PgLazyJWTPreset } from "postgraphile/presets/lazy-jwt";

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`peers server: ${name} is not set`);
    process.exit(2);
  }
  return value;
};

const port = Number(env("PEERS_PORT"));
const preset = {
  extends: [PostGraphileAmberPreset, PgLazyJWTPreset],
  // Order by any column, as this server does (sites, courses and classes by name): without
  // this plugin PostGraphile offers orderBy on indexed columns only.
  disablePlugins: ["PgIndexBehaviorsPlugin"],
  pgServices: [
    makePgService({
      connectionString: env("PEERS_DATABASE_URL"),
      schemas: ["public", "xwpx_peers"],
      poolConfig: { max: Number(process.env.PEERS_POOL || 10) },
    }),
  ],
  grafserv: { port, host: "127.0.0.1", graphiql: false, pgJwtSecret: env("PEERS_JWT_SECRET") },
  grafast: { explain: false },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.keepAliveTimeout = 600_000;
server.on("error", (error) => {
  console.error(error);
  process.exit(1);
});
await serv.addTo(server);
// Build the schema before accepting requests, so the first request is not the one that pays.
await pgl.getSchema();
server.listen(port, "127.0.0.1", () => console.log(`peers server: PostGraphile listening on 127.0.0.1:${port}`));
const stop = () => {
  server.close();
  pgl.release().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 3000).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
