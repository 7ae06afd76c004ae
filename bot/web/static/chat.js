/* After-hours web chat: the conversation survives a reload (session id in sessionStorage,
 * history replayed by the server from the tracker store). */
"use strict";
(function () {
  var root = document.querySelector(".guichet-chat");
  var conversation = new window.Guichet.Conversation({ channel: "chat", root: root, persist: true });
  conversation.start();
})();
