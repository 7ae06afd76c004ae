/* The person's printable case summary: the print button (no inline script under the CSP). */
"use strict";
(function () {
  var button = document.getElementById("imprimer");
  if (button) button.addEventListener("click", function () { window.print(); });
})();
