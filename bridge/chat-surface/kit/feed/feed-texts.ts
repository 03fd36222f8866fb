/** The words of the feed commands' views. */
import type { FeedPost } from '../../../../client/index.js';
import { nameList } from '../common-texts.js';
import { command, count, join, lines, name, time, verbatim, type Rich } from '../rich-text.js';
import type { FeedCommandView } from './feed-views.js';

/** One feed post: who, when, until when, then its words. */
const feedEntry = (post: FeedPost): Rich =>
  lines(
    [name(post.from), ` · ${time(post.postedAt)} (until ${time(post.expiresAt)})`],
    verbatim(post.text),
  );

export function feedText(view: FeedCommandView): Rich {
  switch (view.kind) {
    case 'posted':
      return `Posted to the world feed until ${time(view.expiresAt)}.`;
    case 'feed':
      if (view.posts.length === 0)
        return view.older ? 'No older posts.' : 'The world feed is empty.';
      return join(view.posts.map(feedEntry), '\n\n');
    case 'posted-to-followers':
      return view.followers === 0
        ? [
            'You have no followers yet, so nothing was sent. ',
            command('post', { text: 'text' }),
            ' posts to the world feed.',
          ]
        : `Sealed for ${count(view.followers, 'follower')} and on its way.`;
    case 'followed':
      return view.added
        ? ['You follow ', name(view.name), '. Their posts to followers will arrive here.']
        : ['You already follow ', name(view.name), '.'];
    case 'unfollowed':
      return view.removed
        ? ['You no longer follow ', name(view.name), '.']
        : ['You did not follow ', name(view.name), '.'];
    case 'followers':
      return view.names.length === 0
        ? 'Nobody follows you yet.'
        : ['Your followers: ', nameList(view.names, name)];
    case 'following':
      return view.names.length === 0
        ? ['You follow nobody yet. ', command('follow', { name: 'name' })]
        : ['You follow: ', nameList(view.names, name)];
  }
}
