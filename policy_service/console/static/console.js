/* Live refresh for pages that ask for it (<body data-refresh="SECONDS">, the approvals inbox): the page
   reloads itself, but never while the person is using it. A reload would throw away a half-typed reason
   or move a keyboard user's focus back to the top, so it waits while anything has focus or a form has
   been changed. Without JavaScript the page works the same, with its "Refresh now" link. */
(function () {
  "use strict";
  var seconds = Number(document.body.getAttribute("data-refresh"));
  if (!seconds) { return; }
  var changed = false;
  document.addEventListener("input", function () { changed = true; });
  window.setInterval(function () {
    var active = document.activeElement;
    var inUse = active && active !== document.body && active.id !== "main";
    if (!changed && !inUse) { window.location.reload(); }
  }, seconds * 1000);
}());
