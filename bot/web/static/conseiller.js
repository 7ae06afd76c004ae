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

  function showConsole() {
    login.hidden = true;
    consoleBlock.hidden = false;
    if (!conversation) {
      conversation = new G.Conversation({
        channel: "conseiller", root: consoleBlock.querySelector(".guichet-chat"), persist: true, copyCards: true
      });
      conversation.start();
      queue(conversation.socket);
    }
    loadFigures();
  }

  function showLogin() {
    consoleBlock.hidden = true;
    login.hidden = false;
    document.getElementById("code").focus();
  }

  api("GET", "/api/conseiller/session").then(function (state) {
    if (state.counsellor) showConsole(); else showLogin();
  }).catch(showLogin);

  document.getElementById("connexion-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var error = document.getElementById("connexion-erreur");
    var code = document.getElementById("code");
    error.hidden = true;
    api("POST", "/api/conseiller/session", { code: code.value }).then(function () {
      code.value = "";
      showConsole();
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

  /* -- the queue: people asking for a counsellor, live (socket.io), and callback requests ---- */
  var CHANNELS = { borne: "À la borne", chat: "Discussion en ligne" };
  var me = null;
  var current = null;  // the case this console holds
  var lastQueue = null;

  function waiting(seconds) {
    var minutes = Math.floor(Math.max(0, seconds) / 60);
    return minutes < 1 ? "moins d'une minute" : minutes + " minute" + (minutes > 1 ? "s" : "");
  }

  function summaryBlock(summary, headingTag) {
    var box = el("div", "guichet-queue__summary");
    var texts = summary.texts || [];
    if (texts.length) {
      box.appendChild(el(headingTag, "guichet-card__heading", "Ce que la personne a écrit"));
      var ul = el("ul", "guichet-list");
      texts.forEach(function (t) { ul.appendChild(el("li", "", "« " + t + " »")); });
      box.appendChild(ul);
    } else {
      box.appendChild(el("p", "", "La personne n'a encore rien écrit."));
    }
    if (summary.card) {
      var c = summary.card;
      box.appendChild(el("p", "", "Démarche : " + (c.title || "non identifiée") + (c.operator_name ? " (" + c.operator_name + ")" : "") +
        (c.category_label ? " — " + c.category_label : "")));
      if (c.next_step) box.appendChild(el("p", "fr-text--sm", "Fiche montrée : " + c.next_step));
    } else {
      box.appendChild(el("p", "", "Démarche : pas encore identifiée."));
    }
    var facts = Object.keys(summary.facts || {});
    box.appendChild(el("p", "fr-text--sm", "Faits connus : " + (facts.length ? facts.map(function (k) {
      return k + " : " + summary.facts[k];
    }).join(" ; ") : "aucun")));
    return box;
  }

  function renderQueue(data) {
    lastQueue = data;
    var list = document.getElementById("file-liste");
    var offset = Date.now() / 1000 - data.now;  // the server's clock, as seen from here
    list.textContent = "";
    var waitingCount = 0;
    data.cases.forEach(function (c) {
      var li = el("li", "guichet-queue__item" + (c.urgent ? " guichet-queue__item--urgent" : ""));
      li.setAttribute("data-case", String(c.id));
      li.setAttribute("data-status", c.status);
      var article = el("article", "guichet-card");
      var title = el("h3", "fr-h6 guichet-queue__title", (CHANNELS[c.channel] || c.channel));
      if (c.urgent) {
        var u = el("span", "fr-badge fr-badge--error fr-ml-1w", "Urgent");
        title.appendChild(u);
      }
      article.appendChild(title);
      var since = Date.now() / 1000 - offset - c.created_at;
      article.appendChild(el("p", "fr-text--sm guichet-queue__wait", c.status === "waiting"
        ? "En attente depuis " + waiting(since) : "Prise en charge " + (c.taken_by === me ? "par vous" : "par un autre conseiller")));
      article.appendChild(summaryBlock(c.summary || {}, "p"));
      if (c.status === "waiting") {
        waitingCount += 1;
        var take = el("button", "fr-btn fr-btn--sm", "Prendre en charge");
        take.type = "button";
        take.setAttribute("aria-label", "Prendre en charge la demande " + (CHANNELS[c.channel] || "") .toLowerCase() +
          (c.urgent ? " (urgent)" : "") + " en attente depuis " + waiting(since));
        take.addEventListener("click", function () {
          take.disabled = true;
          socket.emit("case_take", { case: c.id });
        });
        article.appendChild(take);
      } else if (c.taken_by === me && (!current || current.id !== c.id)) {
        var reopen = el("button", "fr-btn fr-btn--sm fr-btn--secondary", "Reprendre cet échange");
        reopen.type = "button";
        reopen.addEventListener("click", function () { socket.emit("case_open", { case: c.id }); });
        article.appendChild(reopen);
      }
      li.appendChild(article);
      list.appendChild(li);
    });
    document.getElementById("file-etat").textContent = waitingCount
      ? waitingCount + " personne" + (waitingCount > 1 ? "s attendent" : " attend") + " un conseiller."
      : "Personne n'attend de conseiller pour le moment.";
    var calls = document.getElementById("rappels");
    calls.textContent = "";
    if (!data.callbacks.length) calls.appendChild(el("li", "", "Aucune demande de rappel."));
    data.callbacks.forEach(function (r) {
      var li = el("li", "guichet-queue__callback");
      li.appendChild(el("p", "", (CHANNELS[r.channel] || r.channel) + " — le " +
        new Date(r.created_at * 1000).toLocaleString("fr-FR") + " : " + r.contact));
      if (r.note) li.appendChild(el("p", "fr-text--sm", "« " + r.note + " »"));
      var done = el("button", "fr-btn fr-btn--sm fr-btn--tertiary", "Rappel fait : effacer la demande");
      done.type = "button";
      done.addEventListener("click", function () { socket.emit("callback_done", { case: r.id }); });
      li.appendChild(done);
      calls.appendChild(li);
    });
  }

  var socket = null;
  var takeover = document.getElementById("prise");
  var takeoverLog = document.getElementById("prise-log");

  function line(who, text) {
    var p = el("div", "guichet-msg " + (who === "person" ? "guichet-msg--user" : who === "counsellor" ? "guichet-msg--counsellor" : "guichet-msg--bot"));
    p.appendChild(el("p", "guichet-msg__who fr-text--sm", who === "person" ? "La personne :" : who === "counsellor" ? "Vous :" : "Guichet :"));
    p.appendChild(el("p", "guichet-msg__text", text));
    takeoverLog.appendChild(p);
    p.scrollIntoView({ block: "nearest" });
  }

  function queue(s) {
    socket = s;
    s.on("connect", function () { s.emit("queue_request", {}); });
    s.on("queue", function (data) {
      if (data.me) me = data.me;
      renderQueue(data);
    });
    s.on("case_opened", function (data) {
      current = data.case;
      takeover.hidden = false;
      takeover.setAttribute("data-case", String(current.id));
      var resume = document.getElementById("prise-resume");
      resume.textContent = "";
      resume.appendChild(el("p", "fr-text--sm", CHANNELS[current.channel] || current.channel));
      resume.appendChild(summaryBlock(current.summary || {}, "p"));
      takeoverLog.textContent = "";
      (data.history || []).forEach(function (item) {
        var custom = item.custom || {};
        if (item.from === "user") line("person", item.text);
        else if (custom.type === "counsellor_message") line("counsellor", item.text);
        else if (item.text) line("bot", item.text);
      });
      document.getElementById("prise-saisie").focus();
      if (lastQueue) renderQueue(lastQueue);
    });
    s.on("case_message", function (data) {
      if (current && data.case === current.id) line(data.from, data.text);
    });
    s.on("case_refused", function (data) {
      document.getElementById("file-etat").textContent = data.message;
    });
    s.on("case_ended", function (data) {
      if (!current || data.case !== current.id) return;
      if (data.text) line("bot", data.text);
      takeover.hidden = true;
      current = null;
      document.getElementById("file-etat").textContent = data.reason === "left"
        ? "La personne a quitté l'échange." : "L'échange est terminé.";
    });
  }

  document.getElementById("prise-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = document.getElementById("prise-saisie");
    if (!current || !input.value.trim()) return;
    socket.emit("case_message", { case: current.id, text: input.value });
    input.value = "";
    input.focus();
  });
  document.getElementById("prise-rendre").addEventListener("click", function () {
    if (current) socket.emit("case_release", { case: current.id, close: false });
  });
  document.getElementById("prise-clore").addEventListener("click", function () {
    if (current) socket.emit("case_release", { case: current.id, close: true });
  });
  setInterval(function () { if (lastQueue) renderQueue(lastQueue); }, 30000);  // waiting times

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
    borne: "Borne", chat: "Discussion en ligne", conseiller: "Console conseiller",
    "borne:demandes": "Borne : demandes de conseiller", "chat:demandes": "Discussion : demandes de conseiller",
    "borne:pris_en_charge": "Borne : prises en charge", "chat:pris_en_charge": "Discussion : prises en charge",
    "borne:messages": "Borne : messages des conseillers", "chat:messages": "Discussion : messages des conseillers"
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
      var handoff = {};
      Object.keys(f.handoff || {}).forEach(function (k) { handoff[k] = f.handoff[k]; });
      Object.keys(f.handoff_wait || {}).forEach(function (k) {
        handoff[(LABELS[k] || k) + " : attente moyenne (s)"] = f.handoff_wait[k];
      });
      grid.appendChild(table("Conseiller demandé", handoff));
      grid.appendChild(table("Opérateur", f.by_operator));
      grid.appendChild(table("Démarches les plus fréquentes", f.by_demarche));
      box.appendChild(grid);
    }).catch(function (e) {
      box.textContent = "";
      box.appendChild(el("p", "", e.message));
    });
  }
})();
