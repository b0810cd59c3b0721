/**
 * A simulated database fault: a trigger that makes Postgres refuse some writes to a table, as if
 * the database went away at that moment. `on` installs it, `off` removes it ("the database is
 * back"). `when` narrows it to some rows (a trigger WHEN condition over OLD / NEW).
 */
export function dbFault(
  name: string,
  table: string,
  event: 'INSERT' | 'UPDATE',
  when?: string,
  /** The SQLSTATE raised, e.g. '23505' (unique_violation); default P0001. */
  sqlState = 'P0001',
): { on: string; off: string } {
  return {
    on: `
      CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'simulated database fault' USING ERRCODE = '${sqlState}'; END $$;
      CREATE TRIGGER ${name} BEFORE ${event} ON ${table} FOR EACH ROW
        ${when ? `WHEN (${when})` : ''} EXECUTE FUNCTION ${name}();`,
    off: `DROP TRIGGER ${name} ON ${table}; DROP FUNCTION ${name}();`,
  };
}
