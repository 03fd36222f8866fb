// ESLint flat config: type-aware strict rules, import zones between areas, no console outside CLI output.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import tsdoc from 'eslint-plugin-tsdoc';

/** Signal's library: pairwise sessions live in client/ratchet/ and nowhere else. */
const LIBSIGNAL = '@signalapp/libsignal-client';

const NATIVE_OR_SERVER = [
  LIBSIGNAL,
  'ioredis',
  'bullmq',
  'grammy',
  'discord.js',
  'better-sqlite3',
  'node:net',
  'net',
];

/** `no-restricted-imports` patterns shared by several zones. */
const zone = (paths, patterns) => ({
  'no-restricted-imports': [
    'error',
    {
      paths: paths.map((name) => ({
        name,
        message: 'Not allowed in this area (see STYLE: import zones).',
      })),
      patterns,
    },
  ],
});

const ADAPTERS = ['cli', 'telegram', 'discord'];

/**
 * An adapter's zone: none of the `packages` (other platforms' libraries; the queue and SQLite
 * drivers, which the bridge owns), the bridge and common areas only through their index.ts, and no
 * other adapter.
 */
const adapterZone = (self, packages, patterns = []) =>
  zone(packages, [
    ...patterns,
    { group: ['**/operator/**'], message: 'Adapters reach the Operator only over the wire.' },
    {
      group: ['**/bridge/*/**', '**/client/*/**'],
      message: 'Adapters import client/index.ts and bridge/index.ts, never their internals.',
    },
    {
      group: ['**/common/*/*', '!**/common/*/index.js'],
      message: 'Import common areas through their index.ts.',
    },
    {
      group: ADAPTERS.filter((a) => a !== self).flatMap((a) => [
        `../${a}/**`,
        `**/adapters/${a}/**`,
      ]),
      message: 'Adapters never import each other: what they share lives in client/ or bridge/.',
    },
  ]);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'eslint.config.js'] },
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    plugins: { 'import-x': importX, tsdoc },
    rules: {
      'no-console': 'error',
      'tsdoc/syntax': 'error',
      'import-x/no-cycle': ['error', { maxDepth: 10 }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
    settings: { 'import-x/resolver': { node: true } },
  },
  {
    files: ['common/**/*.ts'],
    rules: zone(NATIVE_OR_SERVER, [
      {
        group: ['**/operator/**', '**/bridge/**', '**/adapters/**'],
        message: 'common/ imports nothing above it.',
      },
    ]),
  },
  {
    files: ['tor/**/*.ts'],
    rules: zone(
      ['ioredis', 'bullmq', 'grammy', 'discord.js', 'better-sqlite3'],
      [
        {
          group: ['**/operator/**', '**/bridge/**', '**/adapters/**'],
          message: 'tor/ serves the Operator and the bridge; it imports neither.',
        },
        {
          group: ['**/common/*/*', '!**/common/*/index.js'],
          message: 'Import common areas through their index.ts.',
        },
      ],
    ),
  },
  {
    files: ['operator/**/*.ts'],
    rules: zone(
      [LIBSIGNAL, 'ioredis', 'bullmq', 'grammy', 'discord.js'],
      [
        {
          group: ['**/bridge/**', '**/adapters/**'],
          message: 'The Operator may not import the bridge or adapters.',
        },
        {
          group: ['**/common/*/*', '!**/common/*/index.js'],
          message: 'Import common areas through their index.ts.',
        },
      ],
    ),
  },
  ...[
    // One identity's client: what the CLI runs. It never needs the many-identity host or its
    // queues; libsignal only in client/ratchet/, behind the Ratchet.
    { files: ['client/**/*.ts'], ignores: ['client/ratchet/**'], extra: [LIBSIGNAL] },
    { files: ['client/ratchet/**/*.ts'], extra: [] },
  ].map(({ files, ignores, extra }) => ({
    files,
    ...(ignores === undefined ? {} : { ignores }),
    rules: zone(
      [...extra, 'grammy', 'discord.js', 'bullmq', 'ioredis'],
      [
        {
          group: ['**/operator/**', '**/adapters/**', '**/bridge/**'],
          message:
            'client/ serves one identity: it imports neither the Operator, the bridge nor adapters.',
        },
        {
          group: ['**/common/*/*', '!**/common/*/index.js'],
          message: 'Import common areas through their index.ts.',
        },
      ],
    ),
  })),
  {
    files: ['bridge/**/*.ts'],
    rules: zone(
      [LIBSIGNAL, 'grammy', 'discord.js'],
      [
        {
          group: ['**/operator/**', '**/adapters/**'],
          message: 'The bridge may not import the Operator or adapters.',
        },
        {
          group: ['**/client/*/*', '!**/client/*/index.js'],
          message: 'The bridge uses client/ through client/index.ts.',
        },
        {
          group: ['**/common/*/*', '!**/common/*/index.js'],
          message: 'Import common areas through their index.ts.',
        },
      ],
    ),
  },
  {
    files: ['adapters/cli/**/*.ts'],
    rules: adapterZone(
      'cli',
      [LIBSIGNAL, 'grammy', 'discord.js', 'bullmq', 'ioredis', 'better-sqlite3'],
      [{ group: ['**/bridge/**'], message: 'The CLI serves one identity: client/ only.' }],
    ),
  },
  {
    files: ['adapters/telegram/**/*.ts'],
    rules: adapterZone('telegram', [LIBSIGNAL, 'discord.js', 'bullmq', 'better-sqlite3']),
  },
  {
    files: ['adapters/discord/**/*.ts'],
    rules: adapterZone(
      'discord',
      [LIBSIGNAL, 'grammy', 'bullmq', 'better-sqlite3'],
      [{ group: ['@grammyjs/*'], message: 'grammY lives in adapters/telegram only.' }],
    ),
  },
  {
    // The CLI's output module is the one place that writes to the terminal.
    files: [
      'adapters/cli/output.ts',
      'adapters/cli/**/output.ts',
      'adapters/telegram/output.ts',
      'bench/**/*.ts',
      'test/support/**/*.ts',
    ],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.property.name='only']", message: 'No focused tests.' },
        { selector: "CallExpression[callee.property.name='skip']", message: 'No skipped tests.' },
        { selector: "CallExpression[callee.property.name='todo']", message: 'No todo tests.' },
      ],
    },
  },
);
