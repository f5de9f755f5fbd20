/* engine.js: the SSE gateway's own client for live pages; no dependencies, no build step.
 * <script src="/engine.js" defer data-topic="board" data-sse-url="" data-heartbeat="15" data-last-event-id=""
 *         data-model-url="/model" data-share="on" data-token-url="/token"></script>
 * Opens EventSource(<sse-url>/sse?topic=…) resuming after the id the page was rendered at, applies seed-protocol
 * patches ({"html":{id:html}}, {"js":{name:value}}, {"js":{"exec":code}}), shows the state in [data-sse-state]
 * (connecting, live, reconnecting, resync, ended), reopens a stream silent for two heartbeat intervals (armed once
 * the stream sends "heartbeat" events: EventSource hides SSE comments), reloads the model on "resync", drops the
 * topics an "end" names, and sends forms marked data-post with fetch (X-Engine-Request), resetting them on success
 * and showing field errors.
 *
 * Private topics: with data-token-url the stream is opened with credentials (the gateway reads its token cookie),
 * and when the gateway ends it with "token-expired" (or a connect fails for good, e.g. on a 401) engine.js POSTs to
 * that URL for a fresh cookie, then reconnects from its last id. "revoked" stops the stream: state "revoked" and an
 * engine:revoked event on the document.
 *
 * One stream per browser. The tabs of an origin share one stream per (gateway URL, dialect, heartbeat mode):
 * one tab, the leader (Web Locks; a localStorage lease where they are missing), holds the only EventSource, with
 * every tab's topics, tag=topic (the gateway puts the topic on each event's first data line) and heartbeat=event,
 * and relays each event over BroadcastChannel. Each tab applies the events of its own topics whose id is newer than
 * the last it applied, so a reopened stream (a tab joining with a new topic, a new leader after the old one's tab
 * closed) resumes from the oldest point any tab needs and no tab sees an event twice. [data-sse-role] and
 * engine.connection.role say leader, follower or solo (not shared: data-share="off", or a browser without
 * BroadcastChannel). Channel messages (channel "sse-engine <key>"):
 *   join   {kind: join|update|here, tab, id, topics, events, lastId, need, gen}  a member (Engine, SharedEventSource)
 *   leave  {ids}                                 members gone (tab closed, source closed, pruned by a new leader)
 *   hello  {}                                    a new leader asks every tab to announce its members ("here")
 *   stream {gen, topics, from, state}            the leader's EventSource: which, from where, connecting|live|…
 *   event  {gen, type, topic, data, id, after}   a topic event; id null when it has none (after: the id before it)
 *   control {gen, type, data, all}               heartbeat, resync (all: the resume failed for every tab), end
 *   reopen {}                                    a follower saw two heartbeat intervals of silence
 *
 * htmx's SSE extension: engine.SharedEventSource(url, init) behaves like EventSource (url, readyState, withCredentials,
 * onopen/onmessage/onerror, add/removeEventListener, dispatchEvent, close) but joins the shared stream. The extension
 * creates its sources through htmx.createEventSource, and only installs its own when that is undefined, so set it
 * before the extension loads:
 *   <script src="/engine.js"></script>
 *   <script src="htmx.min.js"></script>
 *   <script>htmx.createEventSource = function (url) {
 *     return new engine.SharedEventSource(url, { withCredentials: true });  // as the extension's own default
 *   };</script>
 *   <script src="sse.js"></script>
 *   <div hx-ext="sse" sse-connect="/sse?topic=board&dialect=htmx"><div id="posts" sse-swap="posts"></div></div>
 */
(function (root) {
  'use strict';

  var scriptShare = null;  // the page's data-share, read when the script runs in a browser

  // Applies one seed-protocol patch to doc/win; returns how many changes were made. Errors in exec are reported,
  // not thrown, so one bad patch does not stop the stream.
  function applyPatch(patch, doc, win) {
    var changes = 0;
    if (!patch || typeof patch !== 'object') return 0;
    var html = patch.html, js = patch.js;
    if (html && typeof html === 'object') {
      Object.keys(html).forEach(function (id) {
        var element = doc.getElementById(id);
        if (element) { element.innerHTML = String(html[id]); changes++; }
      });
    }
    if (js && typeof js === 'object') {
      Object.keys(js).forEach(function (name) {
        if (name === 'exec') return;
        win[name] = js[name];
        changes++;
        var bound = doc.querySelectorAll('[data-bind]');
        for (var i = 0; i < bound.length; i++) {
          if (bound[i].getAttribute('data-bind') === name) bound[i].textContent = String(js[name]);
        }
      });
      if (typeof js.exec === 'string') {
        try { new win.Function(js.exec)(); changes++; } catch (error) { win.console && win.console.error(error); }
      }
    }
    return changes;
  }

  // The patch an event's data holds, or null for a plain message.
  function parsePatch(data) {
    if (typeof data !== 'string' || data.charAt(0) !== '{') return null;
    try {
      var value = JSON.parse(data);
      return value && typeof value === 'object' && (value.html || value.js) ? value : null;
    } catch (error) { return null; }
  }

  // Orders gateway ids "<ms>-<seq>": negative, 0 or positive. Digits are compared as text of equal length.
  function compareIds(a, b) {
    var x = String(a).split('-'), y = String(b).split('-');
    for (var i = 0; i < 2; i++) {
      var p = x[i] || '0', q = y[i] || '0';
      if (p.length !== q.length) return p.length - q.length;
      if (p !== q) return p < q ? -1 : 1;
    }
    return 0;
  }

  function streamURL(base, topics, lastId) {
    var query = topics.map(function (topic) { return 'topic=' + encodeURIComponent(topic); });
    if (lastId) query.push('lastEventId=' + encodeURIComponent(lastId));
    query.push('heartbeat=event');  // comments never reach the page; the watchdog needs to see heartbeats
    return (base || '') + '/sse?' + query.join('&');
  }

  // The topics an "end" event's data names, or all of `fallback` when it names none.
  function endedTopics(data, fallback) {
    try {
      var topics = JSON.parse(data).topics;
      if (topics && topics.length) return topics;
    } catch (error) { /* not JSON: ends everything */ }
    return fallback.slice();
  }

  // A live page's connection. With `share` it is a member of the tab's SharedStream; alone (no sharing possible or
  // wanted) it holds an EventSource of its own.
  function Engine(options, doc, win) {
    this.topics = options.topics.slice(); this.base = options.base || ''; this.lastId = options.lastId || null;
    this.heartbeatMs = Math.max(1, Number(options.heartbeat) || 15) * 1000; this.modelURL = options.modelURL;
    this.doc = doc; this.win = win; this.source = null; this.armed = false; this.seen = Date.now();
    this.backoff = 1000; this.reloading = null; this.everOpen = false; this.ended = false;
    this.events = [];   // named events wanted besides messages: none, patches are unnamed
    this.applied = [];  // ids of the events applied, oldest first, at most 200: lets tests count repeats
    this.tokenURL = options.tokenURL || null;
    this.hub = options.share ? sharedStream(streamKey(absoluteBase(this.base, win) + '/sse', 'engine', 'event',
      !!this.tokenURL), win, this.tokenURL) : null;
    this.setRole(this.hub ? this.hub.role : 'solo');
  }

  Engine.prototype.state = function (name) {
    if (this.ended && name !== 'ended') return;
    var marks = this.doc.querySelectorAll('[data-sse-state]');
    for (var i = 0; i < marks.length; i++) { marks[i].textContent = name; marks[i].setAttribute('data-state', name); }
  };

  Engine.prototype.setRole = function (role) {
    this.role = role;
    var marks = this.doc.querySelectorAll('[data-sse-role]');
    for (var i = 0; i < marks.length; i++) { marks[i].textContent = role; marks[i].setAttribute('data-role', role); }
  };

  Engine.prototype.connect = function () {
    var self = this;
    this.state(this.everOpen ? 'reconnecting' : 'connecting');
    if (this.hub) { this.hub.join(this); return; }
    if (this.source) this.source.close();
    var init = this.tokenURL ? { withCredentials: true } : undefined;
    var source = this.source = new this.win.EventSource(streamURL(this.base, this.topics, this.lastId), init);
    source.onopen = function () { self.everOpen = true; self.backoff = 1000; self.alive(); self.state('live'); };
    source.onmessage = function (event) { self.alive(); self.receive(event); };
    source.addEventListener('heartbeat', function () { self.armed = true; self.alive(); });
    source.addEventListener('resync', function () { self.alive(); self.resync(); });
    source.addEventListener('end', function (event) { self.alive(); self.end(event.data); });
    source.addEventListener('token-expired', function () {
      if (source !== self.source) return;
      source.close();
      self.state('reconnecting');
      refreshToken(self.tokenURL, self.win, function () { if (self.source === source) self.connect(); });
    });
    source.addEventListener('revoked', function (event) { if (source === self.source) self.sharedRevoked(event.data); });
    source.onerror = function () {
      if (source !== self.source) return;
      self.state('reconnecting');
      if (source.readyState === 2) {  // CLOSED: the browser gave up (a 503, a 401); retry with backoff and jitter
        var delay = self.backoff * (1 + Math.random() / 2);
        self.backoff = Math.min(self.backoff * 2, 30000);
        setTimeout(function () {
          if (self.source === source) refreshToken(self.tokenURL, self.win, function () { self.connect(); });
        }, delay);
      }
    };
  };

  // The stream's token was revoked: the same token would be refused, so the stream stays closed.
  Engine.prototype.sharedRevoked = function (data) {
    if (this.source) this.source.close();
    this.source = null;
    this.state('revoked');
    this.ended = true;
    this.doc.dispatchEvent(new this.win.CustomEvent('engine:revoked', { detail: data }));
  };

  Engine.prototype.alive = function () { this.seen = Date.now(); };

  // Reopens (with the last id) a stream silent for two heartbeat intervals; true when it did.
  Engine.prototype.check = function (now) {
    if (this.hub) return this.hub.check(now);
    if (!this.armed || !this.source || now - this.seen <= 2 * this.heartbeatMs) return false;
    this.seen = now;
    this.connect();
    return true;
  };

  Engine.prototype.watch = function () {
    var self = this;
    if (this.hub) return;  // the shared stream watches for silence itself
    setInterval(function () { self.check(Date.now()); }, Math.max(250, this.heartbeatMs / 4));
  };

  Engine.prototype.receive = function (event) {
    if (this.reloading) { this.reloading.push(event); return; }
    if (event.lastEventId && event.lastEventId !== this.lastId) {
      this.applied.push(event.lastEventId);
      if (this.applied.length > 200) this.applied.shift();
    }
    if (event.lastEventId) this.lastId = event.lastEventId;
    var patch = parsePatch(event.data);
    if (patch) applyPatch(patch, this.doc, this.win);
    else this.doc.dispatchEvent(new this.win.CustomEvent('engine:message', { detail: event.data }));
  };

  // The gateway could not resume the stream exactly: reload the model, then replay what came in meanwhile.
  Engine.prototype.resync = function () {
    var self = this;
    this.state('resync');
    this.lastId = null;
    if (!this.modelURL || this.reloading) return;
    this.reloading = [];
    var done = function () { if (self.hub) self.hub.update(self); };  // the other tabs learn the new position
    this.win.fetch(this.modelURL, { headers: { Accept: 'application/json' }, cache: 'no-store' })
      .then(function (response) { if (!response.ok) throw new Error('model: ' + response.status); return response.json(); })
      .then(function (model) {
        var pending = self.reloading; self.reloading = null;
        applyPatch(model.patch, self.doc, self.win);
        if (model.id) self.lastId = model.id;
        pending.forEach(function (event) {
          if (!model.id || !event.lastEventId || compareIds(event.lastEventId, model.id) > 0) self.receive(event);
        });
        self.state('live');
        done();
      })
      .catch(function (error) {
        var pending = self.reloading || []; self.reloading = null;
        self.win.console && self.win.console.error(error);
        pending.forEach(function (event) { self.receive(event); });
        done();
      });
  };

  // The gateway ended the stream on purpose ({"reason","topics"}): those topics are over; the rest reopen, if any.
  Engine.prototype.end = function (data) {
    var ended = endedTopics(data, this.topics);
    this.topics = this.topics.filter(function (topic) { return ended.indexOf(topic) < 0; });
    if (this.source) this.source.close();
    this.source = null;
    if (this.topics.length) this.connect(); else this.sharedEnd();
  };

  // What the tab's SharedStream hands its members (see SharedStream.prototype.route and control).
  Engine.prototype.sharedEvent = function (event) { this.alive(); this.receive(event); };
  Engine.prototype.sharedHeartbeat = function () { this.armed = true; this.alive(); };
  Engine.prototype.sharedResync = function () { this.alive(); this.resync(); };
  Engine.prototype.sharedEnd = function () { if (!this.topics.length) { this.state('ended'); this.ended = true; } };
  Engine.prototype.sharedState = function (name) {
    if (name === 'live') this.everOpen = true;
    if (name !== 'closed' && !this.reloading) this.state(name);
  };

  // ---- One stream per browser: the tabs' SharedStream (the channel protocol is at the top of the file) ----

  var CONTROL = ['heartbeat', 'resync', 'end', 'token-expired', 'revoked'], hubs = [];

  // POSTs to the page's token URL for a fresh token cookie, then calls next (also when that failed: the next
  // answer from the gateway says whether a token is still missing). Without a URL, next at once.
  function refreshToken(url, win, next) {
    if (!url) { next(); return; }
    win.fetch(url, { method: 'POST', credentials: 'include', cache: 'no-store', headers: { 'X-Engine-Request': '1' } })
      .then(function () { next(); }, function () { next(); });
  }

  function randomId() { return Math.random().toString(36).slice(2, 10); }
  function laterId(a, b) { return !a ? b : !b ? a : compareIds(a, b) >= 0 ? a : b; }
  function covers(list, topics) { return topics.every(function (topic) { return list.indexOf(topic) >= 0; }); }
  function addAll(into, items) { items.forEach(function (item) { if (into.indexOf(item) < 0) into.push(item); }); }

  // base as an absolute URL without a trailing slash ('' is the page's origin), so tabs agree on the key.
  function absoluteBase(base, win) {
    try { return new win.URL(base || '/', win.location.href).href.replace(/\/$/, ''); } catch (error) { return base; }
  }

  // What makes two tabs' streams the same one: endpoint (…/sse), dialect, heartbeat mode, credentials, other query.
  function streamKey(endpoint, dialect, heartbeat, credentials, extra) {
    var key = { endpoint: endpoint, dialect: dialect || 'engine', heartbeat: heartbeat || 'event',
      credentials: !!credentials, extra: extra || '' };
    key.name = [endpoint, key.dialect, key.heartbeat, key.credentials ? 'credentials' : 'anonymous', key.extra].join(' ');
    return key;
  }

  function sharedURL(key, topics, lastId) {
    var query = topics.map(function (topic) { return 'topic=' + encodeURIComponent(topic); });
    if (lastId) query.push('lastEventId=' + encodeURIComponent(lastId));
    query.push('heartbeat=event', 'tag=topic');
    if (key.dialect !== 'engine') query.push('dialect=' + encodeURIComponent(key.dialect));
    if (key.extra) query.push(key.extra);
    return key.endpoint + '?' + query.join('&');
  }

  // How this browser elects a leader: 'locks' (Web Locks), 'lease' (localStorage) or null (it cannot share).
  function sharingMode(win) {
    if (!win.BroadcastChannel) return null;
    if (win.navigator && win.navigator.locks && typeof win.navigator.locks.request === 'function') return 'locks';
    try {
      win.localStorage.setItem('sse-engine probe', '1'); win.localStorage.removeItem('sse-engine probe');
      return 'lease';
    } catch (error) { return null; }
  }

  // The window's SharedStream for key (one per key), or null when the browser cannot share.
  function sharedStream(key, win, tokenURL) {
    var hub = null;
    for (var i = 0; i < hubs.length; i++) if (hubs[i].win === win && hubs[i].key.name === key.name) hub = hubs[i];
    if (!hub) {
      var mode = sharingMode(win);
      if (!mode) return null;
      hub = new SharedStream(key, win, mode);
      hubs.push(hub);
    }
    if (tokenURL) hub.tokenURL = tokenURL;
    return hub;
  }

  // One tab's part in a shared stream: its members, the registry of every tab's members (each tab keeps it from
  // the channel, so whichever becomes leader knows the topics and resume points), and, when leading, the EventSource.
  // Mode 'solo' is a stream of one tab's own, never shared (a SharedEventSource where sharing is off or impossible).
  function SharedStream(key, win, mode) {
    var self = this;
    this.key = key; this.win = win; this.tab = randomId(); this.serial = 0; this.count = 0;
    this.members = []; this.registry = {};  // registry: member id -> {tab, topics, events, lastId, alive}
    this.leading = mode === 'solo'; this.role = mode === 'solo' ? 'solo' : 'follower';
    this.source = null; this.stream = null; this.streamLast = null; this.state = 'connecting'; this.everLive = false;
    this.seen = this.now(); this.armed = false; this.backoff = 1000; this.untagged = 0; this.timer = null;
    if (mode === 'solo') return;
    this.channel = new win.BroadcastChannel('sse-engine ' + key.name);
    this.channel.onmessage = function (event) { self.hear(event.data || {}); };
    if (mode === 'locks') {
      win.navigator.locks.request('sse-engine ' + key.name, function () {
        self.lead();
        return new Promise(function () {});  // held while the tab lives; the browser frees it when the tab goes
      });
    } else leaseElection(this);
    if (win.addEventListener) win.addEventListener('pagehide', function () { self.close(); });
  }

  SharedStream.prototype.now = function () { return (this.win.Date || Date).now(); };
  SharedStream.prototype.post = function (message) {
    try { if (this.channel) this.channel.postMessage(message); } catch (error) { /* the channel is closed */ }
  };

  SharedStream.prototype.join = function (member) {
    if (this.members.indexOf(member) >= 0) return;
    member.memberId = this.tab + '.' + (++this.count);
    var need = member.lastId;
    if (!member.lastId) member.lastId = this.streamLast;  // no resume point: from what this tab has seen on
    this.members.push(member);
    member.setRole(this.role);
    if (this.state === 'live') member.sharedState('live');
    this.announce(member, 'join', need);
    this.watch(member.heartbeatMs);
  };

  // A member changed its topics, event names or position (after a resync's reload).
  SharedStream.prototype.update = function (member) {
    if (this.members.indexOf(member) >= 0) this.announce(member, 'update', member.lastId);
  };

  SharedStream.prototype.leave = function (member) {
    var at = this.members.indexOf(member);
    if (at < 0) return;
    this.members.splice(at, 1);
    delete this.registry[member.memberId];
    this.post({ t: 'leave', ids: [member.memberId] });
    if (this.leading) this.shrinkLater();
  };

  // The tab goes away: its members leave and a lease is given up (a Web Lock frees itself).
  SharedStream.prototype.close = function () {
    this.post({ t: 'leave', ids: this.members.map(function (member) { return member.memberId; }) });
    if (this.release) this.release();
    if (this.source) this.source.close();
    this.source = null; this.leading = false;
  };

  SharedStream.prototype.announce = function (member, kind, need) {
    var gen = this.stream && this.stream.gen;
    var message = { t: 'join', kind: kind, tab: this.tab, id: member.memberId, topics: member.topics.slice(),
      events: member.events.slice(), lastId: member.lastId, need: need, gen: gen };
    this.remember(message);
    this.post(message);
  };

  // Every tab records a member's announcement; the leader also decides whether its stream must reopen for it.
  SharedStream.prototype.remember = function (m) {
    var entry = this.registry[m.id] = this.registry[m.id] || { tab: m.tab };
    entry.topics = m.topics; entry.events = m.events; entry.lastId = m.lastId; entry.alive = true;
    if (!this.leading) return;
    var stream = this.stream, start = stream && (m.kind === 'join' ? this.streamLast : stream.from);
    this.listenAll();
    if (!stream || !covers(stream.topics, m.topics)) this.openSoon();  // a topic the stream lacks
    else if (m.kind === 'join' ? m.need && (!start || compareIds(m.need, start) < 0)  // a page rendered earlier
      : m.gen !== stream.gen && m.lastId && (!start || compareIds(m.lastId, start) < 0)) this.openSoon();
    else if (m.kind === 'join' && m.tab !== this.tab) this.tell();  // the newcomer learns the stream's state
  };

  SharedStream.prototype.hear = function (m) {
    var self = this;
    if (m.t === 'join') {
      var newTab = m.kind === 'join' && !Object.keys(this.registry).some(function (id) {
        return self.registry[id].tab === m.tab;
      });
      this.remember(m);
      if (newTab) this.members.forEach(function (member) { self.announce(member, 'here', null); });  // meet it
    }
    else if (m.t === 'leave') {
      m.ids.forEach(function (id) { delete self.registry[id]; });
      if (this.leading) this.shrinkLater();
    } else if (m.t === 'hello') this.members.forEach(function (member) { self.announce(member, 'here', null); });
    else if (m.t === 'stream') {
      this.seen = this.now();
      if (!this.stream || this.stream.gen !== m.gen) {
        this.stream = { gen: m.gen, topics: m.topics, from: m.from };
        this.streamLast = m.from;
      }
      this.show(m.state);
    } else if (m.t === 'event') { this.seen = this.now(); this.route(m); }
    else if (m.t === 'control') { this.seen = this.now(); this.control(m); }
    else if (m.t === 'reopen' && this.leading) this.open();
  };

  SharedStream.prototype.setRole = function (role) {
    this.role = role;
    this.members.forEach(function (member) { member.setRole(role); });
  };

  SharedStream.prototype.show = function (state) {
    this.state = state;
    if (state === 'live') this.everLive = true;
    this.members.forEach(function (member) { member.sharedState(state); });
  };

  // Leader: shows its stream's state here and tells the other tabs.
  SharedStream.prototype.setState = function (state) { this.show(state); this.tell(); };
  SharedStream.prototype.tell = function () {
    var stream = this.stream || {};
    this.post({ t: 'stream', gen: stream.gen, topics: stream.topics || [], from: stream.from, state: this.state });
  };

  // This tab won the election: it asks every tab to announce its members (a crashed tab's do not answer and are
  // pruned) and opens the stream at once from the registry's positions, i.e. from the last id it saw relayed.
  SharedStream.prototype.lead = function () {
    var self = this;
    if (this.leading) return;
    this.leading = true;
    this.setRole('leader');
    Object.keys(this.registry).forEach(function (id) { self.registry[id].alive = self.registry[id].tab === self.tab; });
    this.post({ t: 'hello' });
    this.win.setTimeout(function () { self.prune(); }, 1500);
    this.open();
  };

  SharedStream.prototype.demote = function () {
    this.leading = false;
    if (this.source) this.source.close();
    this.source = null;
    this.setRole('follower');
  };

  SharedStream.prototype.prune = function () {
    var registry = this.registry, gone = Object.keys(registry).filter(function (id) { return !registry[id].alive; });
    if (!this.leading || !gone.length) return;
    gone.forEach(function (id) { delete registry[id]; });
    this.post({ t: 'leave', ids: gone });
    this.shrinkLater();
  };

  SharedStream.prototype.union = function (field) {
    var all = [], registry = this.registry;
    Object.keys(registry).forEach(function (id) { addAll(all, registry[id][field]); });
    return all.sort();
  };

  // The oldest position any member still needs (null: none needs one), else where the stream stands.
  SharedStream.prototype.resumePoint = function () {
    var from = null, registry = this.registry;
    Object.keys(registry).forEach(function (id) {
      var last = registry[id].lastId;
      if (last && (!from || compareIds(last, from) < 0)) from = last;
    });
    return from || this.streamLast;
  };

  SharedStream.prototype.openSoon = function () {  // joins in one turn of the event loop reopen once
    var self = this;
    if (!this.pending) this.pending = this.win.setTimeout(function () { self.pending = null; self.open(true); }, 0);
  };

  SharedStream.prototype.shrinkLater = function () {  // a smaller union is applied lazily, after 2 s
    var self = this;
    this.win.setTimeout(function () {
      if (self.leading && self.stream && self.union('topics').length < self.stream.topics.length) self.open(true);
    }, 2000);
  };

  // Leader: (re)opens the one EventSource, with every tab's topics, from the oldest point a tab still needs. A
  // planned reopen (the topics changed) of a live stream still shows it live: the members miss nothing.
  SharedStream.prototype.open = function (planned) {
    var self = this, topics = this.union('topics'), from = this.resumePoint();
    if (!this.leading) return;
    if (this.source) this.source.close();
    this.source = null;
    if (!topics.length) { this.stream = null; this.setState('closed'); return; }
    this.stream = { gen: this.tab + '.' + (++this.serial), topics: topics, from: from };
    this.streamLast = from; this.replaying = !!from; this.seen = this.now();
    var init = this.key.credentials ? { withCredentials: true } : undefined;
    var source = this.source = new this.win.EventSource(sharedURL(this.key, topics, from), init);
    this.lastSeen = ''; this.names = [];  // the source's last id seen, the event names it is listened for
    source.onopen = function () {
      if (source !== self.source) return;
      self.backoff = 1000; self.seen = self.now(); self.setState('live');
    };
    source.onmessage = function (event) { self.relay(source, 'message', event); };
    CONTROL.forEach(function (type) {
      source.addEventListener(type, function (event) { self.controlFrom(source, type, event); });
    });
    source.onerror = function () {
      if (source !== self.source) return;
      self.setState('reconnecting');
      if (source.readyState === 2) {  // CLOSED: the browser gave up (a 503, a 401); retry with backoff and jitter
        var delay = self.backoff * (1 + Math.random() / 2);
        self.backoff = Math.min(self.backoff * 2, 30000);
        self.win.setTimeout(function () {
          if (self.source === source) refreshToken(self.tokenURL, self.win, function () { self.open(); });
        }, delay);
      }
    };
    this.listenAll();
    if (planned && this.state === 'live') this.tell(); else this.setState(this.everLive ? 'reconnecting' : 'connecting');
  };

  // Leader: listens for every named event some member wants (EventSource reports only the names listened for).
  SharedStream.prototype.listenAll = function () {
    var self = this, source = this.source;
    if (!source) return;
    this.union('events').forEach(function (name) {
      if (self.names.indexOf(name) >= 0 || CONTROL.indexOf(name) >= 0 || name === 'message') return;
      self.names.push(name);
      source.addEventListener(name, function (event) { self.relay(source, name, event); });
    });
  };

  // Leader: a topic event, to every tab (this one included). EventSource repeats the previous id on an event
  // without one, so a new lastEventId is the event's own id and a repeated one means it has none.
  SharedStream.prototype.relay = function (source, type, event) {
    if (source !== this.source) return;
    this.seen = this.now();
    var text = String(event.data), cut = text.indexOf('\n'), topic = cut < 0 ? text : text.slice(0, cut), id = null;
    if (this.stream.topics.indexOf(topic) < 0) {
      if (this.untagged++ === 0 && this.win.console) {
        this.win.console.error('engine.js: an event without its topic on the first data line: the gateway ' +
          'does not support tag=topic, so tabs cannot share the stream (set data-share="off")');
      }
      return;
    }
    if (event.lastEventId && event.lastEventId !== this.lastSeen) id = this.lastSeen = event.lastEventId;
    this.replaying = false;
    var message = { t: 'event', gen: this.stream.gen, type: type, topic: topic, data: cut < 0 ? '' : text.slice(cut + 1),
      id: id, after: id ? null : this.lastSeen || this.stream.from };
    this.post(message);
    this.route(message);
  };

  // Leader: heartbeat, resync, end, token-expired or revoked, to every tab. A resync before any event of a stream
  // opened with a resume point means the resume failed for the whole union: every tab reloads. After an end the
  // rest reopen (or none is left); after token-expired the stream reopens once a fresh token cookie is in; after
  // revoked it stays closed.
  SharedStream.prototype.controlFrom = function (source, type, event) {
    var self = this;
    if (source !== this.source) return;
    this.seen = this.now();
    if (type === 'end' || type === 'token-expired' || type === 'revoked') { source.close(); this.source = null; }
    var message = { t: 'control', gen: this.stream.gen, type: type, data: event.data,
      all: type === 'resync' && this.replaying };
    this.post(message);
    this.control(message);
    if (type === 'end') this.open(true);
    if (type === 'token-expired') {
      this.setState('reconnecting');
      refreshToken(this.tokenURL, this.win, function () { if (self.leading && !self.source) self.open(); });
    }
    if (type === 'revoked') this.stream = null;
  };

  // Every tab: hands an event to its members that follow the topic (and, if named, the name) and have not had it:
  // an id ≤ the member's last id, or an event without id that came before it, was seen. A member the stream covers
  // without a gap (its last id at least where the stream stood) is now at this id, even for other topics' events.
  SharedStream.prototype.route = function (m) {
    var self = this, stream = this.stream, before = this.streamLast, current = stream && stream.gen === m.gen;
    var advance = function (holder) {
      if (m.id && current && before && holder.lastId && compareIds(holder.lastId, before) >= 0 &&
        covers(stream.topics, holder.topics)) holder.lastId = laterId(holder.lastId, m.id);
    };
    if (m.id && current) {
      Object.keys(this.registry).forEach(function (id) { advance(self.registry[id]); });
      this.streamLast = laterId(this.streamLast, m.id);
    }
    this.members.slice().forEach(function (member) {
      var had = member.lastId;
      var seen = had && (m.id ? compareIds(m.id, had) <= 0 : m.after && compareIds(m.after, had) < 0);
      if (member.topics.indexOf(m.topic) >= 0 && (m.type === 'message' || member.events.indexOf(m.type) >= 0) && !seen) {
        member.sharedEvent({ type: m.type, data: m.data, id: m.id, lastEventId: m.id || m.after || '' });
      }
      advance(member);
    });
  };

  // Every tab: a control event for its members (and the registry, so that all tabs stay in step).
  SharedStream.prototype.control = function (m) {
    var self = this, registry = this.registry, named = null;
    try { named = JSON.parse(m.data).topics || null; } catch (error) { /* no data: every topic */ }
    var hit = function (topics) {
      return m.all || !named || topics.some(function (topic) { return named.indexOf(topic) >= 0; });
    };
    if (m.type === 'heartbeat') {
      this.armed = true;
      this.members.forEach(function (member) { member.sharedHeartbeat(m.data); });
    } else if (m.type === 'resync') {  // ids before it are void for the topics it names
      Object.keys(registry).forEach(function (id) { if (hit(registry[id].topics)) registry[id].lastId = null; });
      this.members.forEach(function (member) {
        if (hit(member.topics)) { member.lastId = null; member.sharedResync(m.data); }
      });
    } else if (m.type === 'revoked') {
      this.members.slice().forEach(function (member) { member.sharedRevoked(m.data); });
    } else if (m.type === 'end') {
      var ended = named || (this.stream ? this.stream.topics : []);
      var alive = function (topic) { return ended.indexOf(topic) < 0; };
      Object.keys(registry).forEach(function (id) {
        registry[id].topics = registry[id].topics.filter(alive);
        if (!registry[id].topics.length) delete registry[id];
      });
      this.members.slice().forEach(function (member) {
        if (member.topics.every(alive)) return;
        member.topics = member.topics.filter(alive);
        if (!member.topics.length) self.members.splice(self.members.indexOf(member), 1);
        member.sharedEnd(m.data);
      });
    }
  };

  SharedStream.prototype.watch = function (heartbeatMs) {
    var self = this;
    this.heartbeatMs = Math.min(this.heartbeatMs || Infinity, heartbeatMs || 15000);
    if (this.timer) this.win.clearInterval(this.timer);
    this.timer = this.win.setInterval(function () { self.check(self.now()); }, Math.max(250, this.heartbeatMs / 4));
  };

  // Two heartbeat intervals of silence (once heartbeats were seen): the leader reopens; a follower asks it to (its
  // tab may live on while its stream died). True when it acted.
  SharedStream.prototype.check = function (now) {
    if (!this.armed || now - this.seen <= 2 * this.heartbeatMs) return false;
    this.seen = now;
    if (this.leading) this.open(); else { this.show('reconnecting'); this.post({ t: 'reopen' }); }
    return true;
  };

  // Without Web Locks: a lease in localStorage, renewed by the leader every second and taken over when it was not
  // renewed for 3 s (the leader's tab crashed; a closing tab gives it up). Of two tabs claiming at once the last
  // writer wins, which each checks 150 ms after writing; a leader that finds a fresh foreign lease steps down.
  function leaseElection(hub) {
    var win = hub.win, name = 'sse-engine-lease ' + hub.key.name;
    var read = function () { try { return JSON.parse(win.localStorage.getItem(name)); } catch (error) { return null; } };
    var write = function () { win.localStorage.setItem(name, JSON.stringify({ tab: hub.tab, at: hub.now() })); };
    var tick = function () {
      var lease = read(), stale = !lease || hub.now() - lease.at > 3000;
      if (hub.leading) { if (!stale && lease.tab !== hub.tab) hub.demote(); else write(); }
      else if (stale) {
        write();
        win.setTimeout(function () { var held = read(); if (held && held.tab === hub.tab) hub.lead(); }, 150);
      }
    };
    hub.release = function () { var held = read(); if (held && held.tab === hub.tab) win.localStorage.removeItem(name); };
    tick();
    win.setInterval(tick, 1000);
  }

  // ---- engine.SharedEventSource: EventSource's surface over the shared stream (for htmx, see the top) ----

  var OWN_PARAMETERS = ['topic', 'lastEventId', 'heartbeat', 'dialect', 'tag'];

  // url as EventSource takes it (…/sse?topic=…&dialect=…); init.withCredentials as for EventSource, init.heartbeat
  // the gateway's interval in seconds (15) for the watchdog, init.share false for a stream of its own,
  // init.tokenURL where a fresh token cookie is fetched when the stream's token expires (see the top). Other query
  // parameters (a token, say) are kept and make a stream of their own. The third argument is for tests.
  function SharedEventSource(url, init, win) {
    var self = this, parsed, extra = [];
    init = init || {}; win = win || root;
    parsed = new win.URL(String(url), win.location && win.location.href);
    this.url = parsed.href; this.withCredentials = !!init.withCredentials; this.readyState = 0;
    this.onopen = null; this.onmessage = null; this.onerror = null; this.listeners = {}; this.win = win;
    this.topics = parsed.searchParams.getAll('topic'); this.events = [];
    this.lastId = parsed.searchParams.get('lastEventId') || null;
    this.heartbeatMs = Math.max(1, Number(init.heartbeat) || 15) * 1000;
    this.heartbeatEvents = parsed.searchParams.get('heartbeat') === 'event';
    parsed.searchParams.forEach(function (value, name) {
      if (OWN_PARAMETERS.indexOf(name) < 0) extra.push(encodeURIComponent(name) + '=' + encodeURIComponent(value));
    });
    var key = streamKey(parsed.origin + parsed.pathname, parsed.searchParams.get('dialect') || 'engine',
      this.heartbeatEvents ? 'event' : 'comment', this.withCredentials, extra.sort().join('&'));
    var share = init.share !== false && scriptShare !== 'off';
    this.hub = (share && sharedStream(key, win, init.tokenURL)) || new SharedStream(key, win, 'solo');
    if (init.tokenURL) this.hub.tokenURL = init.tokenURL;
    this.role = this.hub.role;
    // Joins once the caller has added its listeners, so the leader listens for those names from the start.
    win.setTimeout(function () { if (self.readyState !== 2) self.hub.join(self); }, 0);
  }

  [SharedEventSource, SharedEventSource.prototype].forEach(function (holder) {
    holder.CONNECTING = 0; holder.OPEN = 1; holder.CLOSED = 2;
  });

  SharedEventSource.prototype.addEventListener = function (type, listener) {
    if (!listener) return;
    var list = this.listeners[type] = this.listeners[type] || [];
    if (list.indexOf(listener) < 0) list.push(listener);
    if (['message', 'open', 'error'].indexOf(type) < 0 && this.events.indexOf(type) < 0) {
      this.events.push(type);
      this.hub.update(this);  // the leader starts listening for that name
    }
  };

  SharedEventSource.prototype.removeEventListener = function (type, listener) {
    var list = this.listeners[type] || [], at = list.indexOf(listener);
    if (at >= 0) list.splice(at, 1);
  };

  // Calls on<type>, then the listeners; a throwing listener is reported and the others still run.
  SharedEventSource.prototype.dispatchEvent = function (event) {
    var self = this, handler = this['on' + event.type];
    try { Object.defineProperty(event, 'target', { value: this }); } catch (error) { /* already dispatched */ }
    try { Object.defineProperty(event, 'currentTarget', { value: this }); } catch (error) { /* idem */ }
    var call = function (listener) {
      try {
        if (typeof listener === 'function') listener.call(self, event); else listener.handleEvent(event);
      } catch (error) { if (self.win.console) self.win.console.error(error); }
    };
    if (typeof handler === 'function') call(handler);
    (this.listeners[event.type] || []).slice().forEach(call);
    return !event.defaultPrevented;
  };

  SharedEventSource.prototype.close = function () { this.readyState = 2; this.hub.leave(this); };

  SharedEventSource.prototype.emit = function (type, data, lastEventId) {
    this.dispatchEvent(new this.win.MessageEvent(type, { data: data == null ? '' : String(data),
      lastEventId: lastEventId || '', origin: new this.win.URL(this.url).origin }));
  };

  // What the tab's SharedStream hands its members.
  SharedEventSource.prototype.setRole = function (role) { this.role = role; };
  SharedEventSource.prototype.sharedEvent = function (event) {
    if (event.id) this.lastId = event.id;
    this.emit(event.type, event.data, event.lastEventId);
  };
  SharedEventSource.prototype.sharedHeartbeat = function (data) { if (this.heartbeatEvents) this.emit('heartbeat', data); };
  SharedEventSource.prototype.sharedResync = function (data) { this.emit('resync', data); };
  SharedEventSource.prototype.sharedRevoked = function (data) {
    this.readyState = 2;
    this.emit('revoked', data);
  };
  SharedEventSource.prototype.sharedEnd = function (data) {
    if (!this.topics.length) this.readyState = 2;
    this.emit('end', data);
  };
  SharedEventSource.prototype.sharedState = function (state) {
    if (state === 'live' && this.readyState === 0) {
      this.readyState = 1;
      this.dispatchEvent(new this.win.Event('open'));
    } else if ((state === 'connecting' || state === 'reconnecting') && this.readyState === 1) {
      this.readyState = 0;  // as EventSource while it reconnects
      this.dispatchEvent(new this.win.Event('error'));
    }
  };

  // Shows text for a few seconds in [data-notices] (created if missing).
  function notify(text, doc) {
    doc = doc || root.document;
    var box = doc.querySelector('[data-notices]');
    if (!box) { box = doc.createElement('div'); box.setAttribute('data-notices', ''); doc.body.appendChild(box); }
    var notice = doc.createElement('div');
    notice.className = 'notice'; notice.setAttribute('role', 'status'); notice.textContent = String(text);
    box.appendChild(notice);
    setTimeout(function () { if (notice.parentNode) notice.parentNode.removeChild(notice); }, 4000);
  }

  // Sends a data-post form with fetch; the answer replaces the form's [data-errors] element.
  function submitForm(form, win) {
    var button = form.querySelector('[type=submit]');
    if (button) button.disabled = true;
    var showErrors = function (html) {
      var errors = form.querySelector('[data-errors]');
      if (errors) errors.outerHTML = html;
    };
    var showMessage = function (text) {
      showErrors('<ul class="errors" data-errors><li></li></ul>');
      var item = form.querySelector('[data-errors] li');
      if (item) item.textContent = text;
    };
    return win.fetch(form.action, {
      method: 'POST', body: new win.URLSearchParams(new win.FormData(form)),
      headers: { 'X-Engine-Request': '1', Accept: 'text/html' }
    }).then(function (response) {
      return response.text().then(function (body) {
        if (response.ok) { form.reset(); showErrors(body); }
        else if (response.status === 422) showErrors(body);
        else showMessage(body.trim() || 'error ' + response.status);
      });
    }).catch(function (error) {
      showMessage('not sent: ' + error.message);
    }).then(function () { if (button) button.disabled = false; });
  }

  var api = { applyPatch: applyPatch, parsePatch: parsePatch, compareIds: compareIds, streamURL: streamURL,
    notify: function (text) { notify(text); }, Engine: Engine, submitForm: submitForm, sharedURL: sharedURL,
    streamKey: streamKey, SharedStream: SharedStream, SharedEventSource: SharedEventSource };
  if (typeof module === 'object' && module.exports) { module.exports = api; return; }
  root.engine = api;

  var script = root.document && root.document.currentScript;
  scriptShare = script && script.getAttribute('data-share');
  root.document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!form || !form.hasAttribute || !form.hasAttribute('data-post')) return;
    event.preventDefault();
    submitForm(form, root);
  });
  if (script && script.getAttribute('data-topic')) {
    var engine = new Engine({
      topics: script.getAttribute('data-topic').split(/[\s,]+/).filter(Boolean),
      base: script.getAttribute('data-sse-url'), heartbeat: script.getAttribute('data-heartbeat'),
      lastId: script.getAttribute('data-last-event-id'), modelURL: script.getAttribute('data-model-url'),
      share: scriptShare !== 'off', tokenURL: script.getAttribute('data-token-url')
    }, root.document, root);
    api.connection = engine;
    engine.connect();
    engine.watch();
  }
})(typeof window !== 'undefined' ? window : this);
