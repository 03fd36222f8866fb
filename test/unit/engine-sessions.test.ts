/**
 * The engine's identity sessions on their own (real SQLite bridge and letter stores, the
 * in-memory Operator): each identity is opened once and kept, found by its registered name, and
 * destroyed with its letter store; an unregistered identity has no signer.
 */
import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signerOf, type Sessions } from '../../bridge/engine/sessions.js';
import { generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import { toBase64url } from '../../common/wire/index.js';
import { engineWorld, type EngineWorld } from '../support/engine-fixture.js';

let world: EngineWorld;
let sessions: Sessions;

beforeEach(() => {
  // Sessions use no queue: no Redis.
  world = engineWorld();
  sessions = world.sessions();
});

afterEach(async () => {
  sessions.closeAll();
  await world.close();
});

function unregistered(): string {
  const id = toBase64url(randomBytes(16));
  world.store.createIdentity('test:new', {
    id,
    keys: generateIdentityKeys(),
    storageKey: randomBytes(32),
    chat: 'chat-new',
  });
  return id;
}

describe('Sessions', () => {
  it('opens an identity once and keeps it; an identity not held has none', () => {
    const id = unregistered();
    const session = sessions.must(id);
    expect(sessions.get(id)).toBe(session);
    expect(session.held).toMatchObject({ id, chat: 'chat-new', name: null });
    expect(existsSync(world.sessionFactory.storePath(id))).toBe(true);
    expect(sessions.get(toBase64url(randomBytes(16)))).toBeUndefined();
    expect(() => sessions.must(toBase64url(randomBytes(16)))).toThrow(
      expect.objectContaining({ code: 'KEYSTORE_MISSING' }) as unknown,
    );
  });

  it('has no signer before registration, and finds an identity by its name after', async () => {
    const id = unregistered();
    expect(() => signerOf(sessions.must(id))).toThrow(
      expect.objectContaining({ code: 'NOT_REGISTERED' }) as unknown,
    );
    expect(sessions.named('ann')).toBeUndefined();
    await sessions.must(id).client.register('ann');
    sessions.setName(id, 'ann');
    expect(sessions.named('ann')).toBe(sessions.get(id));
    expect(sessions.must(id).held.name).toBe('ann');
    expect(signerOf(sessions.must(id)).name).toBe('ann');
    // Another Sessions on the same store (a restart) knows the name too.
    expect(world.sessions().named('ann')?.held.id).toBe(id);
  });

  it('destroys an identity with its letter store', async () => {
    const id = await world.hold('ann', sessions);
    const path = world.sessionFactory.storePath(id);
    expect(existsSync(path)).toBe(true);
    sessions.destroy(id);
    expect(existsSync(path)).toBe(false);
    expect(sessions.get(id)).toBeUndefined();
    expect(world.store.identityNamed('ann')).toBeUndefined();
  });
});
