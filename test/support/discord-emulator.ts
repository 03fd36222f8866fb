/** The Discord emulator; its parts are in ./discord-emulator/. */
export * from './discord-emulator/index.js';
