/**
 * Queries compiled once per shape.
 *
 * Kysely builds an operation-node tree, runs its compiler over it and freezes
 * the result on every call; on the login path that was about a tenth of the
 * node's CPU (docs/benchmarks.md). A hot query has one shape and changing
 * values, so it is built once with placeholder values, compiled by the
 * dialect in use (so SQLite and PostgreSQL each get their own SQL, as with any
 * other Kysely query), and then run with the real values in the placeholders'
 * positions. The query is still written with Kysely's typed builder.
 */
import { CompiledQuery, type Compilable, type Kysely, type QueryResult } from 'kysely';

const placeholder = (i: number) => `\u0000tl-param-${i}\u0000`;

/**
 * `build` receives one placeholder per argument and must use each of them only
 * as a value (never as an identifier or in JavaScript logic). Values written
 * as literals in `build` stay as they were compiled.
 */
export function prepared<Args extends unknown[], Row>(
  db: Kysely<any>,
  arity: Args['length'],
  build: (...placeholders: any[]) => Compilable<Row>,
): (...args: Args) => Promise<QueryResult<Row>> {
  const marks = Array.from({ length: arity as number }, (_, i) => placeholder(i));
  const compiled = build(...marks).compile();
  const sources = compiled.parameters.map((p) => marks.indexOf(p as string));
  for (let i = 0; i < arity; i++) {
    if (!sources.includes(i)) throw new Error(`prepared query: argument ${i} is not used as a value in: ${compiled.sql}`);
  }
  const { sql } = compiled;
  const constants = compiled.parameters;
  return (...args: Args) => {
    const parameters = sources.map((s, k) => (s >= 0 ? args[s] : constants[k]));
    return db.executeQuery<Row>(CompiledQuery.raw(sql, parameters) as CompiledQuery<Row>);
  };
}
