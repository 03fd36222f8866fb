/**
 * Choosing the store (issue 15): `store.kind` and the PostgreSQL settings in the config, the
 * connection string only from the environment variable the config names, and the Operator's
 * start refusing a missing or unusable one with a message that names the variable, never the
 * value. The SQLite default is unchanged.
 */
import { describe, expect, it } from 'vitest';
import { isKomradeError } from '../../common/errors/index.js';
import { databaseUrlFrom, parseOperatorConfig } from '../../operator/index.js';
import { startOperatorProcess } from '../support/operator-process.js';

const SECRET = 'pw-THIS-IS-SECRET-0123456789';

/** The CONFIG_INVALID message `run` throws. */
function configError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(isKomradeError(error, 'CONFIG_INVALID')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('the store config', () => {
  it('defaults to SQLite, and reads the PostgreSQL settings', () => {
    expect(parseOperatorConfig('').store).toEqual({
      kind: 'sqlite',
      dataDir: './data',
      databaseUrlEnv: 'KOMRADE_DATABASE_URL',
      maxConnections: 10,
    });
    const store = parseOperatorConfig(
      'store:\n  kind: postgres\n  databaseUrlEnv: OPERATOR_DB\n  maxConnections: 4\n',
    ).store;
    expect(store).toMatchObject({
      kind: 'postgres',
      databaseUrlEnv: 'OPERATOR_DB',
      maxConnections: 4,
    });
  });

  it('refuses a connection string in the file, unknown kinds and bad settings, never echoing them', () => {
    for (const [text, field] of [
      [
        `store:\n  kind: postgres\n  databaseUrl: postgresql://u:${SECRET}@db/komrade\n`,
        'databaseUrl',
      ],
      [`store:\n  kind: mysql\n`, 'store.kind'],
      [`store:\n  databaseUrlEnv: "postgresql://u:${SECRET}@db"\n`, 'store.databaseUrlEnv'],
      [`store:\n  maxConnections: 0\n`, 'store.maxConnections'],
    ] as const) {
      const message = configError(() => parseOperatorConfig(text, 'operator.yaml'));
      expect(message).toContain(field);
      expect(message).not.toContain(SECRET);
    }
  });

  it('takes the connection string from the named variable only', () => {
    const store = { databaseUrlEnv: 'OPERATOR_DB' };
    expect(databaseUrlFrom(store, { OPERATOR_DB: ' postgresql://db/komrade ' })).toBe(
      'postgresql://db/komrade',
    );
    expect(databaseUrlFrom(store, { OPERATOR_DB: 'postgres://db/komrade' })).toBe(
      'postgres://db/komrade',
    );
    for (const env of [{}, { OPERATOR_DB: '' }, { KOMRADE_DATABASE_URL: 'postgresql://db/x' }]) {
      const message = configError(() => databaseUrlFrom(store, env));
      expect(message).toContain('OPERATOR_DB');
      expect(message).toContain('not set');
    }
    const message = configError(() => databaseUrlFrom(store, { OPERATOR_DB: `u:${SECRET}@db` }));
    expect(message).toContain('OPERATOR_DB');
    expect(message).not.toContain(SECRET);
  });
});

describe('starting an Operator on PostgreSQL', () => {
  const postgres = { store: { kind: 'postgres' } };

  it('refuses to start without the variable, naming it', async () => {
    const env = { KOMRADE_DATABASE_URL: '' };
    await expect(startOperatorProcess({ config: postgres, env })).rejects.toThrow(
      /exited with code 1[\s\S]*KOMRADE_DATABASE_URL is not set/,
    );
  });

  it('refuses an unreachable database without printing its password', async () => {
    const env = { KOMRADE_DATABASE_URL: `postgresql://komrade:${SECRET}@127.0.0.1:1/komrade` };
    const failure = await startOperatorProcess({ config: postgres, env }).then(
      () => new Error('started'),
      (error: unknown) => error as Error,
    );
    expect(failure.message).toMatch(
      /exited with code 1[\s\S]*Cannot open the PostgreSQL database named by KOMRADE_DATABASE_URL/,
    );
    expect(failure.message).not.toContain(SECRET);
  });

  it('says which store it runs on: SQLite by default', async () => {
    const operator = await startOperatorProcess();
    try {
      expect(operator.stdout()).toMatch(/Komrade Operator store: SQLite \(.*operator\.db\)/);
    } finally {
      await operator.cleanup();
    }
  });
});
