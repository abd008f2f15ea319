// defer serve: reload a list page when the store changes (server-sent events from /events).
// Pages work without it; only pages marked data-live listen.
(function () {
  "use strict";
  if (!document.body || !document.body.dataset.live || !window.EventSource) {
    return;
  }
  var pending = null;
  var events = new EventSource("/events");
  events.addEventListener("change", function () {
    if (pending !== null) {
      return;
    }
    // A burst of changes (a runner claiming many tasks) reloads once.
    pending = window.setTimeout(function () {
      window.location.reload();
    }, 300);
  });
})();
