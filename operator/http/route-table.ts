/** The API's routes and how a method and path find one. */
import { KomradeError } from '../../common/errors/index.js';
import { ROUTES } from '../../common/wire/index.js';
import { MethodNotAllowed } from './method-not-allowed.js';
import type { Route } from './route.js';
import { ackMailRoute } from './routes/ack-mail.js';
import { anonymousSendRoute } from './routes/anonymous-send.js';
import { collectiveAppendRoute } from './routes/collective-append.js';
import { collectiveCreateRoute } from './routes/collective-create.js';
import { collectiveHeadRoute } from './routes/collective-head.js';
import { collectiveLogRoute } from './routes/collective-log.js';
import { collectiveSendRoute } from './routes/collective-send.js';
import { fetchMailRoute } from './routes/fetch-mail.js';
import { healthRoute } from './routes/health.js';
import { issueTokensRoute } from './routes/issue-tokens.js';
import { logCheckpointRoute } from './routes/log-checkpoint.js';
import { logConsistencyRoute } from './routes/log-consistency.js';
import { logEntriesRoute } from './routes/log-entries.js';
import { lookupKomradeRoute } from './routes/lookup-komrade.js';
import { openSessionRoute } from './routes/open-session.js';
import { operatorInfoRoute } from './routes/operator-info.js';
import { postToFeedRoute } from './routes/post-to-feed.js';
import { prekeyBundleRoute } from './routes/prekey-bundle.js';
import { readFeedRoute } from './routes/read-feed.js';
import { registerRoute } from './routes/register.js';
import { setRatchetKeyRoute } from './routes/set-ratchet-key.js';
import { uploadPrekeysRoute } from './routes/upload-prekeys.js';
import { waitMailRoute } from './routes/wait-mail.js';

const EXACT: ReadonlyMap<string, Route> = new Map(
  [
    operatorInfoRoute,
    healthRoute,
    registerRoute,
    setRatchetKeyRoute,
    uploadPrekeysRoute,
    prekeyBundleRoute,
    openSessionRoute,
    issueTokensRoute,
    anonymousSendRoute,
    fetchMailRoute,
    ackMailRoute,
    waitMailRoute,
    postToFeedRoute,
    readFeedRoute,
    collectiveCreateRoute,
    collectiveAppendRoute,
    collectiveHeadRoute,
    collectiveLogRoute,
    collectiveSendRoute,
    logCheckpointRoute,
    logConsistencyRoute,
    logEntriesRoute,
  ].map((route) => [route.template, route]),
);

/** A matched route and its path parameters. */
export interface RouteMatch {
  readonly route: Route;
  readonly params: Readonly<Record<string, string>>;
}

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Finds the route for `method` and `path` (the path without its query).
 * @throws KomradeError `NOT_FOUND`, `METHOD_NOT_ALLOWED`
 */
export function matchRoute(method: string, path: string): RouteMatch {
  let route = EXACT.get(path);
  let params = NO_PARAMS;
  if (route === undefined && path.startsWith(ROUTES.komrade)) {
    const name = path.slice(ROUTES.komrade.length);
    if (name.length > 0 && !name.includes('/')) {
      route = lookupKomradeRoute;
      params = { name };
    }
  }
  if (route === undefined) throw new KomradeError('NOT_FOUND', 'No such route.');
  if (route.method !== method) throw new MethodNotAllowed(route.method);
  return { route, params };
}
