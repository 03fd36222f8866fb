/** Discord's JSON errors, as route handlers throw them. */

/** Discord's JSON error, thrown by route handlers. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly errors?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export const unknown = (what: string, code: number) => new ApiError(404, code, `Unknown ${what}`);
export const invalidForm = (field: string, code: string, message: string) =>
  new ApiError(400, 50035, 'Invalid Form Body', {
    [field]: { _errors: [{ code, message }] },
  });
