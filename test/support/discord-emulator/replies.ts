/** Small helpers for route handlers: reading params and JSON, building replies. */
import type { Json, Params, Reply } from './state.js';

export const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
export const param = (params: Params, name: string): string => {
  const value = params.get(name);
  if (value === undefined) throw new Error(`route without :${name}`);
  return value;
};
export const ok = (body: unknown): Reply => ({ status: 200, body });
export const noContent: Reply = { status: 204 };
export const seconds = (ms: number) => (ms / 1000).toFixed(3);
