/** The `METHOD_NOT_ALLOWED` error, carrying the `Allow` header value. */
import { KomradeError } from '../../common/errors/index.js';

/** Thrown by routing when the path exists but not for this method. */
export class MethodNotAllowed extends KomradeError {
  readonly allow: string;
  constructor(allow: string) {
    super('METHOD_NOT_ALLOWED', `This route accepts only ${allow}.`);
    this.allow = allow;
  }
}
