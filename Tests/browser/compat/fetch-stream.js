/*
 * The datastar dialect through fetch and a body reader, the way a fetch-based SSE client behaves:
 * - headers Accept: text/event-stream…, Datastar-Request: true, Content-Type: application/json (so a cross-origin
 *   request is preflighted), credentials: 'include', and the signals as a `datastar` query parameter;
 * - the page parses text/event-stream itself and applies datastar-patch-elements (selector, mode, elements);
 * - when the read rejects (the body broke: a crash, a drain, a cut) or fetch itself fails, it tries again after
 *   a wait that starts at 1 s (or the stream's retry: value) and doubles up to 30 s, at most 10 times in a row,
 *   sending Last-Event-ID with the id of the last event it dispatched; an answer resets the count and the wait;
 * - when the body ends cleanly (done: true), whatever the status, it stops for good.
 */
(function () {
  'use strict';
  var retryBase = 1000;
  var retryWait = retryBase;
  var failures = 0;
  var lastEventId = '';

  /** Parses text/event-stream incrementally; calls dispatch({event, data, id}) per event. */
  function Parser(dispatch) {
    var decoder = new TextDecoder();
    var buffer = '';
    var event = { event: '', data: [], hasData: false };
    this.feed = function (bytes) {
      buffer += decoder.decode(bytes, { stream: true });
      var match;
      // A line ends at CRLF, LF or CR; a CR at the very end may be the first half of a CRLF: wait for more.
      while ((match = /\r\n|\n|\r(?=[^\n])/.exec(buffer)) !== null) {
        var line = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        this.line(line);
      }
    };
    this.line = function (line) {
      if (line === '') {
        if (event.hasData || event.event) {
          dispatch({ event: event.event || 'message', data: event.data.join('\n'), id: lastEventId });
        }
        event = { event: '', data: [], hasData: false };
        return;
      }
      if (line[0] === ':') return;
      var colon = line.indexOf(':');
      var field = colon < 0 ? line : line.slice(0, colon);
      var value = colon < 0 ? '' : line.slice(colon + 1);
      if (value[0] === ' ') value = value.slice(1);
      if (field === 'data') {
        event.data.push(value);
        event.hasData = true;
      } else if (field === 'event') {
        event.event = value;
      } else if (field === 'id') {
        if (value.indexOf('\0') < 0) lastEventId = value;
      } else if (field === 'retry' && /^\d+$/.test(value)) {
        retryBase = retryWait = Number(value);
      }
    };
  }

  function patchElements(data, id) {
    var fields = {};
    data.split('\n').forEach(function (line) {
      var space = line.indexOf(' ');
      var key = space < 0 ? line : line.slice(0, space);
      (fields[key] = fields[key] || []).push(space < 0 ? '' : line.slice(space + 1));
    });
    var selector = (fields.selector || [''])[0];
    var mode = (fields.mode || ['outer'])[0];
    var html = (fields.elements || []).join('\n');
    var target = selector ? document.querySelector(selector) : null;
    if (!target) {
      compat.unexpected('patch-elements without a target: ' + data);
      return;
    }
    if (mode === 'inner') target.innerHTML = html;
    else if (mode === 'append') target.insertAdjacentHTML('beforeend', html);
    else if (mode === 'prepend') target.insertAdjacentHTML('afterbegin', html);
    else {
      compat.unexpected('mode ' + mode + ' not handled by this page: ' + data);
      return;
    }
    compat.applied(target, id);
  }

  function dispatch(event) {
    if (event.event === 'datastar-patch-elements') patchElements(event.data, event.id);
    else if (event.event === 'resync') compat.resync(event.data);
    else if (event.event === 'end') compat.state.ended = event.data;
    else if (event.event !== 'heartbeat') compat.unexpected(event.event + ': ' + event.data);
  }

  async function connect() {
    var headers = {
      Accept: 'text/event-stream, text/html, application/json',
      'Datastar-Request': 'true',
      'Content-Type': 'application/json'
    };
    if (lastEventId) headers['Last-Event-ID'] = lastEventId;
    compat.attempt(lastEventId);
    var url = compat.streamURL('datastar') + '&datastar=' + encodeURIComponent('{}');
    try {
      var response = await fetch(url, { method: 'GET', headers: headers, credentials: 'include' });
      failures = 0;
      retryWait = retryBase;
      if (response.status === 200) compat.opened();
      else compat.error('HTTP ' + response.status);
      var parser = new Parser(dispatch);
      var reader = response.body.getReader();
      for (;;) {
        var chunk = await reader.read();
        if (chunk.done) break;
        parser.feed(chunk.value);
      }
      // A clean end: the server finished the stream on purpose. A fetch-based client does not come back.
      compat.ended();
    } catch (error) {
      failures += 1;
      compat.error('attempt ' + compat.state.attempts.length + ' failed: ' + error);
      if (failures >= 10) {
        compat.ended();
        return;
      }
      var wait = retryWait;
      retryWait = Math.min(retryWait * 2, 30000);
      window.setTimeout(connect, wait);
    }
  }

  connect();
})();
