import pg from "libpg-query";

/*
 * PostgreSQL's own parser (libpg-query: the PostgreSQL 15 grammar compiled to WebAssembly), so
 * that SQL in the artifacts is read as the server reads it, not by a regular expression. Loaded
 * once, when this module is imported; parsing is synchronous after that.
 */

await pg.loadModule();

/** A node of the parse tree: `{ NodeType: { …fields } }`, as libpg-query returns it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type PgNode = Record<string, any>;

export interface ParsedStatement {
  /** The node type (`CreateRoleStmt`, `GrantStmt`, …) and its fields. */
  readonly type: string;
  readonly node: PgNode;
  /** Offset of the statement in the parsed text. */
  readonly location: number;
}

export class SqlSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number | undefined,
  ) {
    super(message);
    this.name = "SqlSyntaxError";
  }
}

/** Parses SQL text into its statements; throws SqlSyntaxError with PostgreSQL's message. */
export function parseSql(text: string): ParsedStatement[] {
  let tree: { stmts?: { stmt: PgNode; stmt_location?: number }[] };
  try {
    tree = pg.parseSync(text) as typeof tree;
  } catch (e) {
    const err = e as Error & { sqlDetails?: { cursorPosition?: number } };
    throw new SqlSyntaxError(err.message, err.sqlDetails?.cursorPosition);
  }
  return (tree.stmts ?? []).map((s) => {
    const type = Object.keys(s.stmt)[0]!;
    return { type, node: s.stmt[type] as PgNode, location: s.stmt_location ?? 0 };
  });
}

/** The SQL text of an expression wrapped as `SELECT <expr>`, parsed: its expression node. */
export function parseExpression(text: string): PgNode {
  const [stmt] = parseSql(`SELECT ${text}`);
  const target = stmt?.node.targetList?.[0]?.ResTarget?.val as PgNode | undefined;
  if (!stmt || stmt.type !== "SelectStmt" || !target) throw new SqlSyntaxError(`not an expression: ${text}`, undefined);
  return target;
}
