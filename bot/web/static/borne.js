/* Self-service kiosk: big buttons, typed requests, and an inactivity reset (RGAA 13.1): after
 * IDLE_S seconds without action a warning gives WARNING_S (>= 20) seconds and a button to continue,
 * then everything on screen and in the browser's storage is wiped for the next person. */
"use strict";
(function () {
  var WARNING_S = 30;
  var params = new URLSearchParams(window.location.search);
  var idle = parseInt(params.get("inactivite") || "", 10);
  var IDLE_S = idle >= 10 && idle <= 3600 ? idle : 120;

  var root = document.querySelector(".guichet-chat");
  var home = document.getElementById("accueil");
  var dialog = document.getElementById("inactivite");
  var seconds = document.getElementById("inactivite-secondes");
  var idleTimer = null;
  var countdown = null;
  var remaining = WARNING_S;
  var lastFocus = null;

  var conversation = new window.Guichet.Conversation({
    channel: "borne", root: root, persist: false, onActivity: activity,
    onSend: function () { home.hidden = true; }  // the conversation takes the screen
  });
  conversation.start();

  home.querySelectorAll("button[data-payload]").forEach(function (button) {
    button.addEventListener("click", function () {
      conversation.send(button.getAttribute("data-payload"), button.textContent);
      root.querySelector(".guichet-log").focus();
    });
  });
  document.getElementById("recommencer").addEventListener("click", wipe);
  document.getElementById("continuer").addEventListener("click", function () {
    hideWarning();
    activity();
  });

  function activity() {
    if (!dialog.hidden) return;  // only the dialog's button continues
    clearTimeout(idleTimer);
    idleTimer = setTimeout(showWarning, IDLE_S * 1000);
  }

  function showWarning() {
    lastFocus = document.activeElement;
    remaining = WARNING_S;
    seconds.textContent = String(remaining);
    dialog.hidden = false;
    document.getElementById("continuer").focus();
    countdown = setInterval(function () {
      remaining -= 1;
      seconds.textContent = String(Math.max(remaining, 0));
      if (remaining <= 0) wipe();
    }, 1000);
  }

  function hideWarning() {
    clearInterval(countdown);
    dialog.hidden = true;
    if (lastFocus && lastFocus.focus) lastFocus.focus();
  }

  /* Everything goes: the conversation on screen, any storage, the connection; a fresh page follows. */
  function wipe() {
    clearInterval(countdown);
    clearTimeout(idleTimer);
    conversation.leaveHandoff();  // the next person must not inherit a counsellor's exchange
    conversation.stop();
    try { window.sessionStorage.clear(); window.localStorage.clear(); } catch (e) { /* storage disabled */ }
    root.querySelector(".guichet-log").textContent = "";
    window.location.replace("/borne" + window.location.search);
  }

  ["pointerdown", "keydown", "input", "touchstart"].forEach(function (type) {
    document.addEventListener(type, activity, { passive: true });
  });
  activity();
})();
