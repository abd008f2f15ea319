// defer serve: say how the time being typed on the New task page is read. The form works
// without it (a refusal comes back with what was typed).
(function () {
  "use strict";
  var input = document.getElementById("when");
  var out = document.getElementById("preview");
  if (!input || !out || !window.fetch) {
    return;
  }
  var timer = null;
  var asked = 0;
  function ask() {
    var text = input.value.trim();
    if (text === "") {
      out.textContent = "";
      return;
    }
    var mine = ++asked;
    fetch("/tasks/new/preview?when=" + encodeURIComponent(text), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (answer) {
        if (mine !== asked) {
          return;
        }
        out.textContent = answer.text;
        out.className = answer.ok ? "preview ok" : "preview problem";
      })
      .catch(function () {});
  }
  input.addEventListener("input", function () {
    if (timer !== null) {
      window.clearTimeout(timer);
    }
    timer = window.setTimeout(ask, 250);
  });
  ask();
})();
