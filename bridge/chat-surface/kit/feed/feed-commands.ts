/** The world feed, posts to followers, following. */
import { MAX_POST_DAYS } from '../../../../common/wire/index.js';
import {
  numberArg,
  optionalStringArg,
  stringArg,
  type ArgSpec,
  type CommandSpec,
} from '../command.js';

/** How long a post stays in the feed when no lifetime is given. */
const DEFAULT_POST_DAYS = 7;
/** Posts per feed page. */
const FEED_PAGE = 5;

const textArg = (description: string): ArgSpec => ({
  name: 'text',
  kind: 'text',
  description,
  placeholder: 'text',
});

const nameArg: ArgSpec = {
  name: 'name',
  kind: 'name',
  description: 'Their Komrade name, e.g. dave',
  placeholder: '@name',
  maxLength: 40,
};

const post: CommandSpec = {
  name: 'post',
  summary: `Post to the world feed (kept ${DEFAULT_POST_DAYS} days unless you say)`,
  example: { days: '3d', text: 'Food bank open Saturday' },
  args: [
    {
      name: 'days',
      kind: 'days',
      description: `Days the post stays (1–${MAX_POST_DAYS}; default ${DEFAULT_POST_DAYS})`,
      placeholder: '3d',
      optional: true,
      min: 1,
      max: MAX_POST_DAYS,
    },
    textArg('The post'),
  ],
  needs: 'identity',
  run: async ({ engine, me, event }, args) => {
    const days = numberArg(args, 'days') ?? DEFAULT_POST_DAYS;
    const text = stringArg(args, 'text');
    // The feed keeps no event of ours: the engine's record makes a replay post once.
    const posted = await engine.once(event, () => engine.client(me.id).post(text, days));
    return { kind: 'posted', expiresAt: posted.expiresAt };
  },
};

const feed: CommandSpec = {
  name: 'feed',
  summary: 'Read the world feed',
  args: [],
  needs: 'identity',
  run: async ({ engine, me }, args) => {
    // Paging is the surface's (a button): it passes the cursor it was given, never typed.
    const before = optionalStringArg(args, 'before');
    const page = await engine
      .client(me.id)
      .feed({ limit: FEED_PAGE, ...(before === undefined ? {} : { before }) });
    return { kind: 'feed', posts: page.posts, next: page.next, older: before !== undefined };
  },
};

const postFollowers: CommandSpec = {
  name: 'postfollowers',
  summary: 'Post to your followers only (sealed to each, not the feed)',
  args: [textArg('The post')],
  needs: 'identity',
  run: async ({ engine, me, event }, args) => {
    const sent = await engine.postToFollowers(me.id, stringArg(args, 'text'), event);
    return { kind: 'posted-to-followers', followers: sent.followers.length };
  },
};

const follow: CommandSpec = {
  name: 'follow',
  summary: 'Follow a komrade (get their posts)',
  args: [nameArg],
  needs: 'identity',
  run: async ({ engine, me, event }, args) => {
    const result = await engine.follow(me.id, stringArg(args, 'name'), event);
    return { kind: 'followed', name: result.name, added: result.added };
  },
};

const unfollow: CommandSpec = {
  name: 'unfollow',
  summary: 'Stop following a komrade',
  args: [nameArg],
  needs: 'identity',
  run: async ({ engine, me, event }, args) => {
    const result = await engine.unfollow(me.id, stringArg(args, 'name'), event);
    return { kind: 'unfollowed', name: result.name, removed: result.removed };
  },
};

const following: CommandSpec = {
  name: 'following',
  summary: 'Who you follow',
  args: [],
  needs: 'identity',
  run: ({ engine, me }) => ({ kind: 'following', names: engine.following(me.id) }),
};

const followers: CommandSpec = {
  name: 'followers',
  summary: 'Who follows you',
  args: [],
  needs: 'identity',
  run: ({ engine, me }) => ({ kind: 'followers', names: engine.followers(me.id) }),
};

/** Every feed command, in the order help lists them. */
export const FEED_COMMANDS: readonly CommandSpec[] = [
  post,
  postFollowers,
  feed,
  follow,
  unfollow,
  following,
  followers,
];
