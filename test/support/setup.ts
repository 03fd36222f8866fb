/** Loaded before every test file: libsodium ready, and no connection leaves loopback. */
import net from 'node:net';
import { initCrypto } from '../../common/crypto/index.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;
// eslint-disable-next-line @typescript-eslint/unbound-method -- re-applied with the right `this` below
const originalConnect = net.Socket.prototype.connect;
// Tests may only talk to this machine: refuse any other address before a packet leaves.
net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
  const first = args[0];
  const host =
    typeof first === 'object' && first !== null && 'host' in first
      ? (first as { host?: unknown }).host
      : typeof args[1] === 'string'
        ? args[1]
        : undefined;
  const path =
    typeof first === 'object' && first !== null && 'path' in first
      ? (first as { path?: unknown }).path
      : undefined;
  if (path === undefined && typeof host === 'string' && !LOOPBACK.test(host)) {
    throw new Error(`test tried to connect to a non-loopback host`);
  }
  return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
};

// Top-level await: test files may build keys while their suites are collected.
await initCrypto();
