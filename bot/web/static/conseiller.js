/* Counsellor console: login (HttpOnly session cookie set by the server), conversation with the
 * agent audience, knowledge-base search with full cards to copy, figures of the current quarter. */
"use strict";
(function () {
  var G = window.Guichet;
  var el = G.el;
  var login = document.getElementById("connexion");
  var consoleBlock = document.getElementById("console");
  var conversation = null;

  function api(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) throw new Error(data.error || ("Erreur " + r.status));
        return data;
      });
    });
  }

  function showConsole(state) {
    login.hidden = true;
    consoleBlock.hidden = false;
    document.getElementById("mode-dev").hidden = state.code_required;
    if (!conversation) {
      conversation = new G.Conversation({
        channel: "conseiller", root: consoleBlock.querySelector(".guichet-chat"), persist: true, copyCards: true
      });
      conversation.start();
    }
    loadFigures();
  }

  function showLogin() {
    consoleBlock.hidden = true;
    login.hidden = false;
    document.getElementById("code").focus();
  }

  api("GET", "/api/conseiller/session").then(function (state) {
    if (state.counsellor) showConsole(state); else showLogin();
  }).catch(showLogin);

  document.getElementById("connexion-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var error = document.getElementById("connexion-erreur");
    var code = document.getElementById("code");
    error.hidden = true;
    api("POST", "/api/conseiller/session", { code: code.value }).then(function (state) {
      code.value = "";
      showConsole(state);
      document.getElementById("saisie").focus();
    }).catch(function (e) {
      error.textContent = e.message;
      error.hidden = false;
      code.setAttribute("aria-invalid", "true");
      code.setAttribute("aria-describedby", "connexion-erreur");
      code.focus();
    });
  });

  document.getElementById("deconnexion").addEventListener("click", function () {
    api("DELETE", "/api/conseiller/session").finally(function () {
      window.sessionStorage.clear();
      window.location.replace("/conseiller");
    });
  });

  /* The case summary at any moment (the same as typing « synthèse du dossier »). */
  document.getElementById("synthese").addEventListener("click", function () {
    if (conversation) conversation.send("/synthese", "Synthèse du dossier");
  });

  document.getElementById("nouvelle").addEventListener("click", function () {
    window.sessionStorage.removeItem("guichet.session.conseiller");
    window.location.replace("/conseiller");
  });

  /* -- knowledge-base search ------------------------------------------------------------ */
  var results = document.getElementById("resultats");
  var searchState = document.getElementById("recherche-etat");

  function searchCard(hit) {
    var card = el("article", "guichet-card" + (hit.category === "urgent" ? " guichet-card--urgent" : ""));
    card.setAttribute("data-demarche", hit.demarche);
    var cat = el("p", "guichet-card__category fr-mb-1w");
    cat.appendChild(el("span", "fr-sr-only", "Catégorie : "));
    cat.appendChild(G.badge(hit.category, hit.category_label));
    card.appendChild(cat);
    card.appendChild(el("h3", "guichet-card__title fr-h6", hit.title));
    card.appendChild(el("p", "guichet-card__operator fr-text--sm", hit.operator_name + " — " + hit.section));
    card.appendChild(el("p", "guichet-card__heading", "Demande ou démarche"));
    card.appendChild(el("p", "", hit.label));
    if (hit.items.length) {
      var items = el("ul", "guichet-list");
      hit.items.forEach(function (i) { items.appendChild(el("li", "", i)); });
      card.appendChild(items);
    }
    card.appendChild(el("p", "guichet-card__heading", "Action à réaliser par le conseiller France services"));
    card.appendChild(el("p", "guichet-card__next", hit.action));
    if (hit.contacts.length) {
      card.appendChild(el("p", "guichet-card__heading", "Contacts"));
      var ul = el("ul", "guichet-list");
      hit.contacts.forEach(function (c) { ul.appendChild(G.contactItem(c)); });
      card.appendChild(ul);
    }
    var s = hit.source;
    card.appendChild(el("p", "guichet-card__source fr-text--xs",
      "Source : " + s.document + ", " + s.operator + ", « " + s.section + " », ligne " + s.line));
    var copy = el("button", "fr-btn fr-btn--sm fr-btn--secondary fr-icon-clipboard-line fr-btn--icon-left", "Copier la fiche");
    copy.type = "button";
    copy.setAttribute("aria-label", "Copier la fiche « " + hit.title + " »");
    copy.addEventListener("click", function () { G.copyText(hit.card_text, copy); });
    card.appendChild(copy);
    return card;
  }

  document.getElementById("recherche").addEventListener("submit", function (event) {
    event.preventDefault();
    var params = new URLSearchParams();
    var q = document.getElementById("recherche-mots").value.trim();
    var op = document.getElementById("recherche-operateur").value;
    var cat = document.getElementById("recherche-categorie").value;
    if (q) params.set("q", q);
    if (op) params.set("operateur", op);
    if (cat) params.set("categorie", cat);
    results.textContent = "";
    searchState.textContent = "Recherche en cours…";
    api("GET", "/api/recherche?" + params.toString()).then(function (data) {
      var n = data.results.length;
      searchState.textContent = n ? n + " résultat" + (n > 1 ? "s" : "") + "." : "Aucun résultat : essayez d'autres mots.";
      data.results.forEach(function (hit) { results.appendChild(searchCard(hit)); });
    }).catch(function (e) {
      searchState.textContent = e.message;
    });
  });

  /* -- figures of the quarter (same as `python -m bot report`) -------------------------- */
  var LABELS = {
    niveau_1: "Niveau 1", niveau_2: "Niveau 2", urgent: "Situation urgente", hors_bouquet: "Hors bouquet",
    resolu: "Résolu par Guichet", reoriente: "Réorienté vers un conseiller ou un organisme", sans_reponse: "Sans réponse",
    borne: "Borne", chat: "Discussion en ligne", conseiller: "Console conseiller"
  };

  function table(caption, counts) {
    var keys = Object.keys(counts || {});
    var wrap = el("div", "guichet-figures__item");
    var t = el("table", "guichet-figures__table");
    t.appendChild(el("caption", "", caption));
    var head = el("thead");
    var hr = el("tr");
    hr.appendChild(el("th", "", caption));
    hr.appendChild(el("th", "", "Nombre"));
    hr.firstChild.scope = "col";
    hr.lastChild.scope = "col";
    head.appendChild(hr);
    t.appendChild(head);
    var body = el("tbody");
    if (!keys.length) {
      var empty = el("tr");
      var td = el("td", "", "Aucune donnée");
      td.colSpan = 2;
      empty.appendChild(td);
      body.appendChild(empty);
    }
    keys.sort(function (a, b) { return counts[b] - counts[a]; }).forEach(function (k) {
      var tr = el("tr");
      var th = el("th", "", LABELS[k] || k);
      th.scope = "row";
      tr.appendChild(th);
      tr.appendChild(el("td", "", counts[k]));
      body.appendChild(tr);
    });
    t.appendChild(body);
    wrap.appendChild(t);
    return wrap;
  }

  function loadFigures() {
    var box = document.getElementById("bilan");
    api("GET", "/api/bilan").then(function (f) {
      box.textContent = "";
      if (f.error) {
        box.appendChild(el("p", "", "Trimestre " + f.quarter + " : aucune conversation enregistrée pour l'instant."));
        return;
      }
      box.appendChild(el("p", "fr-text--lg", "Trimestre " + f.quarter + " : " + f.conversations +
        " conversation" + (f.conversations > 1 ? "s" : "") + ", " +
        String(f.mean_questions).replace(".", ",") + " question(s) posée(s) en moyenne."));
      var grid = el("div", "guichet-figures__grid");
      grid.appendChild(table("Canal", f.by_channel));
      grid.appendChild(table("Catégorie", f.by_category));
      grid.appendChild(table("Issue", f.by_outcome));
      grid.appendChild(table("Avis", f.feedback));
      grid.appendChild(table("Opérateur", f.by_operator));
      grid.appendChild(table("Démarches les plus fréquentes", f.by_demarche));
      box.appendChild(grid);
    }).catch(function (e) {
      box.textContent = "";
      box.appendChild(el("p", "", e.message));
    });
  }
})();
