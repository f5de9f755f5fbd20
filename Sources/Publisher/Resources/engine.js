/* engine.js: the SSE gateway's own client for live pages; no dependencies, no build step.
 * <script src="/engine.js" defer data-topic="board" data-sse-url="" data-heartbeat="15" data-last-event-id=""
 *         data-model-url="/model"></script>
 * Opens EventSource(<sse-url>/sse?topic=…) resuming after the id the page was rendered at, applies seed-protocol
 * patches ({"html":{id:html}}, {"js":{name:value}}, {"js":{"exec":code}}), shows the state in [data-sse-state]
 * (connecting, live, reconnecting, resync), reopens a stream silent for two heartbeat intervals (armed once the
 * stream sends "heartbeat" events: EventSource hides SSE comments), reloads the model on "resync", and sends
 * forms marked data-post with fetch (X-Engine-Request), resetting them on success and showing field errors.
 */
(function (root) {
  'use strict';

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

  function Engine(options, doc, win) {
    this.topics = options.topics; this.base = options.base || ''; this.lastId = options.lastId || null;
    this.heartbeatMs = Math.max(1, Number(options.heartbeat) || 15) * 1000; this.modelURL = options.modelURL;
    this.doc = doc; this.win = win; this.source = null; this.armed = false; this.seen = Date.now();
    this.backoff = 1000; this.reloading = null; this.everOpen = false;
  }

  Engine.prototype.state = function (name) {
    var marks = this.doc.querySelectorAll('[data-sse-state]');
    for (var i = 0; i < marks.length; i++) { marks[i].textContent = name; marks[i].setAttribute('data-state', name); }
  };

  Engine.prototype.connect = function () {
    var self = this;
    if (this.source) this.source.close();
    this.state(this.everOpen ? 'reconnecting' : 'connecting');
    var source = this.source = new this.win.EventSource(streamURL(this.base, this.topics, this.lastId));
    source.onopen = function () { self.everOpen = true; self.backoff = 1000; self.alive(); self.state('live'); };
    source.onmessage = function (event) { self.alive(); self.receive(event); };
    source.addEventListener('heartbeat', function () { self.armed = true; self.alive(); });
    source.addEventListener('resync', function () { self.alive(); self.resync(); });
    source.onerror = function () {
      if (source !== self.source) return;
      self.state('reconnecting');
      if (source.readyState === 2) {  // CLOSED: the browser gave up (e.g. a 503); retry with backoff and jitter
        var delay = self.backoff * (1 + Math.random() / 2);
        self.backoff = Math.min(self.backoff * 2, 30000);
        setTimeout(function () { if (self.source === source) self.connect(); }, delay);
      }
    };
  };

  Engine.prototype.alive = function () { this.seen = Date.now(); };

  // Reopens (with the last id) a stream silent for two heartbeat intervals; true when it did.
  Engine.prototype.check = function (now) {
    if (!this.armed || !this.source || now - this.seen <= 2 * this.heartbeatMs) return false;
    this.seen = now;
    this.connect();
    return true;
  };

  Engine.prototype.watch = function () {
    var self = this;
    setInterval(function () { self.check(Date.now()); }, Math.max(250, this.heartbeatMs / 4));
  };

  Engine.prototype.receive = function (event) {
    if (this.reloading) { this.reloading.push(event); return; }
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
      })
      .catch(function (error) {
        var pending = self.reloading || []; self.reloading = null;
        self.win.console && self.win.console.error(error);
        pending.forEach(function (event) { self.receive(event); });
      });
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
    notify: function (text) { notify(text); }, Engine: Engine, submitForm: submitForm };
  if (typeof module === 'object' && module.exports) { module.exports = api; return; }
  root.engine = api;

  var script = root.document && root.document.currentScript;
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
      lastId: script.getAttribute('data-last-event-id'), modelURL: script.getAttribute('data-model-url')
    }, root.document, root);
    api.connection = engine;
    engine.connect();
    engine.watch();
  }
})(typeof window !== 'undefined' ? window : this);
