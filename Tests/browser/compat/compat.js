/*
 * Shared by the compatibility pages (Tests/browser/compat/*.html): reads the page's parameters, and records what
 * the page's own client applied and how its connections went, in window.compat.state, for the driver
 * (Tests/browser/compat_suite.py) to read in one call.
 *
 * Parameters (query string of the page):
 *   topic   the topic to follow, or several separated by commas (one stream of them all)
 *   after   the id the page was "rendered" at: the first connect resumes after it (lastEventId=), as a server-side
 *           rendered page would, so nothing published after rendering can fall between render and subscription
 *   stream  the gateway's origin (http://127.0.0.1:PORT) for a cross-origin stream; empty for the page's own
 *
 * A patch is applied when its HTML reaches the element; the number in its data-n attribute is then appended to
 * state.applied. "Exactly once, in order" is then a property of that one array.
 */
(function () {
  'use strict';
  var params = new URLSearchParams(window.location.search);
  var state = {
    page: document.documentElement.getAttribute('data-page'),
    topic: params.get('topic') || '',
    applied: [],
    lastEventId: '',
    opens: 0,
    attempts: [],
    errors: [],
    resyncs: [],
    unexpected: [],
    ended: null,
    closed: false,
    connection: 'connecting'
  };

  function note(list, text) {
    // Bounded: a page that retries forever must not grow without limit.
    if (list.length < 200) list.push(String(text).slice(0, 300));
  }

  window.compat = {
    state: state,

    /** The stream URL for `dialect` (null: the gateway's default, engine). */
    streamURL: function (dialect) {
      var query = new URLSearchParams();
      state.topic.split(',').forEach(function (topic) { query.append('topic', topic); });
      if (dialect) query.append('dialect', dialect);
      if (params.get('after')) query.append('lastEventId', params.get('after'));
      return (params.get('stream') || '') + '/sse?' + query.toString();
    },

    /** Records the patch whose HTML `target` now holds; `id` is the event's id (empty when the event had none). */
    applied: function (target, id) {
      var marked = target && target.querySelector('[data-n]');
      if (!marked) {
        note(state.unexpected, 'content without data-n: ' + (target ? target.innerHTML : 'no target'));
        return;
      }
      state.applied.push(Number(marked.getAttribute('data-n')));
      if (id) state.lastEventId = id;
      var log = document.getElementById('applied');
      if (log) log.textContent = state.applied.join(' ');
    },

    opened: function () {
      state.opens += 1;
      state.connection = 'open';
    },

    attempt: function (lastEventId) {
      if (state.attempts.length < 200) state.attempts.push({ at: Date.now(), lastEventId: lastEventId || '' });
    },

    error: function (text) {
      if (!state.closed) state.connection = 'error';
      note(state.errors, new Date().toISOString().slice(11, 23) + ' ' + text);
    },

    resync: function (data) { note(state.resyncs, data); },
    unexpected: function (text) { note(state.unexpected, text); },

    /** The stream ended on purpose (`end` event or a clean end of body): the page will not reconnect. */
    ended: function (data) {
      if (data !== undefined && state.ended === null) state.ended = data;
      state.closed = true;
      state.connection = 'closed';
    }
  };
})();
