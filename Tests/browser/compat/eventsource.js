/*
 * The engine dialect through a plain EventSource without credentials: each unnamed event is a patch
 * {"html":{"elementId":"<html>"}}, applied by replacing the element's content. The browser reconnects by itself
 * (with Last-Event-ID) whenever the stream breaks; the page closes it only on the gateway's `end` event.
 */
(function () {
  'use strict';
  var source = new EventSource(compat.streamURL(null));
  source.onopen = function () { compat.opened(); };
  source.onerror = function () { compat.error('error event, readyState ' + source.readyState); };
  source.onmessage = function (event) {
    var patch;
    try {
      patch = JSON.parse(event.data);
    } catch (error) {
      compat.unexpected('not JSON: ' + event.data);
      return;
    }
    var html = patch && patch.html;
    if (!html || typeof html !== 'object') {
      compat.unexpected('no html member: ' + event.data);
      return;
    }
    Object.keys(html).forEach(function (id) {
      var element = document.getElementById(id);
      if (!element) {
        compat.unexpected('no element #' + id);
        return;
      }
      element.innerHTML = String(html[id]);
      compat.applied(element, event.lastEventId);
    });
  };
  source.addEventListener('resync', function (event) { compat.resync(event.data); });
  source.addEventListener('end', function (event) {
    source.close();
    compat.ended(event.data);
  });
})();
