/*
 * The htmx dialect (one event named after the element id per html entry, the HTML as data) through an
 * EventSource opened with {withCredentials: true}, so a cross-origin stream needs Access-Control-Allow-Credentials.
 *
 * Mechanisms of an sse-swap style client, written for this page:
 * - each element with data-swap="name[,name…]" gets source.addEventListener(name, …) that replaces its content;
 * - while the EventSource reconnects by itself (readyState CONNECTING) nothing else happens; when it gives up
 *   (readyState CLOSED: a non-200 answer or a CORS failure) a new EventSource is made on the same URL after
 *   500 ms × a doubling count (at most 64 s), and the listeners are attached to it. A new EventSource sends no
 *   Last-Event-ID: it resumes from the URL's lastEventId, so it may replay patches the page already applied;
 *   the driver's exactly-once check shows that if it happens;
 * - the event named in data-close closes the source for good.
 */
(function () {
  'use strict';
  var container = document.querySelector('[data-connect]');
  var closeName = container.getAttribute('data-close');
  var source = null;

  function listen(target, name) {
    source.addEventListener(name, function (event) {
      target.innerHTML = event.data;
      compat.applied(target, event.lastEventId);
    });
  }

  function connect(retryCount) {
    source = new EventSource(compat.streamURL('htmx'), { withCredentials: true });
    var current = source;
    current.onopen = function () {
      compat.opened();
      retryCount = 0;
    };
    current.onerror = function () {
      compat.error('error event, readyState ' + current.readyState);
      if (current.readyState !== EventSource.CLOSED || compat.state.closed) return;
      var count = Math.max(Math.min((retryCount || 0) * 2, 128), 1);
      window.setTimeout(function () { connect(count); }, count * 500);
    };
    container.querySelectorAll('[data-swap]').forEach(function (target) {
      target.getAttribute('data-swap').split(',').forEach(function (name) { listen(target, name.trim()); });
    });
    current.addEventListener('resync', function (event) { compat.resync(event.data); });
    if (closeName) {
      current.addEventListener(closeName, function (event) {
        current.close();
        compat.ended(event.data);
      });
    }
  }

  connect(0);
})();
