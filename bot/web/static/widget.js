/* Embeddable after-hours chat: add
 *   <script src="https://<guichet>/static/guichet/widget.js" defer></script>
 * to a structure's page; it adds a button that opens the web chat (/chat?integre=1) in a panel. */
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = new URL(script.src, window.location.href).origin;
  var button = document.createElement("button");
  button.type = "button";
  button.textContent = "Une question sur vos démarches ?";
  button.setAttribute("aria-expanded", "false");
  button.style.cssText = "position:fixed;right:1rem;bottom:1rem;z-index:2147483000;padding:.75rem 1rem;" +
    "background:#000091;color:#fff;border:0;font:700 1rem/1.5 Marianne,arial,sans-serif;cursor:pointer";
  var frame = document.createElement("iframe");
  frame.title = "Guichet France services — discussion en ligne";
  frame.src = origin + "/chat?integre=1";
  frame.hidden = true;
  frame.style.cssText = "position:fixed;right:1rem;bottom:4.5rem;z-index:2147483000;width:min(26rem,calc(100vw - 2rem));" +
    "height:min(40rem,calc(100vh - 6rem));border:1px solid #929292;background:#fff";
  button.addEventListener("click", function () {
    frame.hidden = !frame.hidden;
    button.setAttribute("aria-expanded", String(!frame.hidden));
    if (!frame.hidden) frame.focus();
  });
  document.body.appendChild(frame);
  document.body.appendChild(button);
})();
