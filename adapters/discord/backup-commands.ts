/**
 * `/backup` and `/restore`: a user's identity as a file encrypted under a passphrase, and back.
 * The passphrase is an option of the interaction, answered in this process: it never reaches a
 * queue, a log or a store.
 */
import { say, type BridgeEngine, type WorkingUsers } from '../../bridge/index.js';
import { passphraseWeakness } from '../../client/index.js';
import { KomradeError } from '../../common/errors/index.js';
import { DISCORD_ONLY_COMMANDS, discordSurface } from './discord-surface-kit.js';
import {
  Answer,
  NO_MENTIONS,
  answerView,
  deferPrivately,
  registeredIdentity,
  userKey,
  work,
  type Interaction,
} from './replies.js';
import { texts } from './texts.js';

/** What the backup commands are run with. */
export interface BackupCommandDeps {
  readonly engine: BridgeEngine;
  readonly working: WorkingUsers;
}

/** Far above any real backup; bounds what is downloaded. */
const MAX_BACKUP_DOWNLOAD_BYTES = 25 * 1024 * 1024;

const BACKUP = DISCORD_ONLY_COMMANDS.find((spec) => spec.name === 'backup');

/** A passphrase too weak to protect a backup is answered with why, then the usage line. */
function refuseWeak(passphrase: string): void {
  const weakness = passphraseWeakness(passphrase);
  if (weakness === undefined || BACKUP === undefined) return;
  const usage = say({ kind: 'usage', specs: [BACKUP], problem: {} }, discordSurface);
  throw new Answer(`${weakness} Nothing was written.\n${usage}`);
}

/** Makes and restores backups. */
export class BackupCommands {
  readonly #deps: BackupCommandDeps;

  constructor(deps: BackupCommandDeps) {
    this.#deps = deps;
  }

  async backup(i: Interaction): Promise<void> {
    const id = registeredIdentity(this.#deps.engine, this.#deps.working, i);
    const passphrase = i.options.getString('passphrase', true);
    refuseWeak(passphrase);
    await deferPrivately(i);
    const file = await this.#deps.engine.backupIdentity(id.id, passphrase);
    await i.editReply({
      content: texts.backupDone(id.name),
      files: [{ attachment: Buffer.from(file), name: `komrade-${id.name}.backup` }],
      allowedMentions: NO_MENTIONS,
    });
  }

  async restore(i: Interaction): Promise<void> {
    const { engine, working } = this.#deps;
    const file = i.options.getAttachment('file', true);
    const passphrase = i.options.getString('passphrase', true);
    const replace = i.options.getBoolean('replace') ?? false;
    if (file.size > MAX_BACKUP_DOWNLOAD_BYTES) throw new Answer(texts.backupTooLarge);
    const key = userKey(i.user.id);
    if (!replace && engine.identityOf(key) !== undefined) throw new Answer(texts.restoreRefused);
    if (working.has(key)) throw answerView({ kind: 'busy' });
    await work(i, async () => {
      const response = await fetch(file.url);
      if (!response.ok) {
        throw new KomradeError(
          'BACKUP_INVALID',
          'Discord did not hand over the file; attach it again.',
        );
      }
      const bytes = new Uint8Array(await response.arrayBuffer());
      const restored = await engine.restoreIdentity(key, i.user.id, bytes, passphrase, { replace });
      return texts.restored(restored.name ?? '');
    });
  }
}
