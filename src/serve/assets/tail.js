// defer serve: on the page of a task that is running, show what its executor prints as it
// prints it (server-sent events from /tasks/ID/tail), then reload when the attempt ends.
(function () {
  "use strict";
  var out = document.getElementById("live-out");
  if (!out || !window.EventSource) {
    return;
  }
  var source = new EventSource(out.dataset.tail);
  function append(text, stream) {
    var span = document.createElement("span");
    span.className = stream;
    span.textContent = text;
    out.appendChild(span);
    out.scrollTop = out.scrollHeight;
  }
  source.addEventListener("out", function (e) { append(e.data, "stdout"); });
  source.addEventListener("err", function (e) { append(e.data, "stderr"); });
  source.addEventListener("end", function () {
    source.close();
    window.setTimeout(function () { window.location.reload(); }, 300);
  });
})();
