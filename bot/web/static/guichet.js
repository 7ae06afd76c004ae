/* Guichet — conversation over socket.io and rendering of replies (shared by the three pages).
 * Everything coming from the person or the knowledge base is inserted with textContent / attributes,
 * never as HTML. Contract: docs/api.md. */
"use strict";

window.Guichet = (function () {
  var BADGES = {
    niveau_1: "fr-badge--success",
    niveau_2: "fr-badge--info",
    urgent: "fr-badge--error",
    hors_bouquet: "fr-badge--warning"
  };
  var KIND_LABELS = { phone: "Téléphone", email: "Courriel", url: "Site internet", service: "Service" };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function telHref(value) {
    return "tel:" + String(value).replace(/[^\d+]/g, "");
  }

  function urlHref(value) {
    var v = String(value).trim();
    if (!/^https?:\/\//i.test(v)) v = "https://" + v;
    return /^https?:\/\/[^\s"'<>]+$/i.test(v) ? v : null;
  }

  /* A contact as a real link (tel:, mailto:, https:) or as text. */
  function contactItem(contact) {
    var li = el("li", "guichet-contact");
    var label = el("span", "guichet-contact__label", (contact.label || KIND_LABELS[contact.kind] || "Contact") + " : ");
    li.appendChild(label);
    var href = null;
    if (contact.kind === "phone") href = telHref(contact.value);
    else if (contact.kind === "email") href = "mailto:" + String(contact.value).trim();
    else if (contact.kind === "url") href = urlHref(contact.value);
    var value;
    if (href) {
      value = el("a", "fr-link", contact.value);
      value.href = href;
      if (contact.kind === "url") {
        value.target = "_blank";
        value.rel = "noopener noreferrer";
        value.title = contact.value + " (nouvelle fenêtre)";
      }
    } else {
      value = el("span", "", contact.value);
    }
    li.appendChild(value);
    if (contact.audience === "agent") {
      li.appendChild(el("span", "fr-badge fr-badge--sm fr-badge--purple-glycine fr-ml-1w", "réservé aux conseillers"));
    }
    return li;
  }

  function badge(category, label) {
    var b = el("p", "fr-badge " + (BADGES[category] || "fr-badge--info"), label || category);
    b.setAttribute("data-category", category || "");
    return b;
  }

  function contactsBlock(title, contacts) {
    var wrap = el("div", "guichet-card__contacts");
    wrap.appendChild(el("p", "guichet-card__heading", title));
    var ul = el("ul", "guichet-list");
    contacts.forEach(function (c) { ul.appendChild(contactItem(c)); });
    wrap.appendChild(ul);
    return wrap;
  }

  function sourceLine(source) {
    if (!source) return null;
    var parts = [source.document, source.operator, source.section ? "« " + source.section + " »" : null];
    if (source.line) parts.push("ligne " + source.line);
    return el("p", "guichet-card__source fr-text--xs", "Source : " + parts.filter(Boolean).join(", "));
  }

  /* Several requests found in one message ("requests" payload): the numbered list, urgent first. */
  function caseList(custom, text) {
    var box = el("div", "guichet-case");
    box.setAttribute("data-count", custom.count);
    var lines = String(text || "").split("\n");
    var agent = custom.audience === "agent";
    if (!agent) {
      box.appendChild(el("p", "guichet-msg__text guichet-case__intro", text));
      return box;
    }
    /* counsellor: « 3 démarches repérées : », the list with badges, then the rest of the text */
    var listed = function (l) { return /^\d+\. /.test(l); };
    var head = lines.findIndex(function (l) { return /démarches repérées/.test(l); });
    box.appendChild(el("p", "guichet-msg__text guichet-case__intro", lines.slice(0, head + 1).join("\n")));
    var ol = el("ol", "guichet-case__list");
    (custom.requests || []).forEach(function (item) {
      var li = el("li", "guichet-case__item");
      li.setAttribute("data-operator", item.operator || "");
      li.appendChild(el("span", "guichet-case__title", item.title + (item.operator_name ? " — " + item.operator_name : "")));
      if (item.category) li.appendChild(badge(item.category, item.category_label));
      ol.appendChild(li);
    });
    box.appendChild(ol);
    var rest = lines.slice(head + 1).filter(function (l) { return !listed(l); }).join("\n");
    if (rest) box.appendChild(el("p", "guichet-msg__text", rest));
    return box;
  }

  /* The case summary ("summary" payload), with « Copier la synthèse » and, in the console, the
   * person's printable copy (public wording, no counsellor-only contact). */
  function summaryCard(custom, conversation) {
    var agent = custom.audience === "agent";
    var card = el("article", "guichet-card guichet-summary");
    card.appendChild(el("h3", "guichet-card__title fr-h6", agent ? "Synthèse du dossier" : "Récapitulatif de vos démarches"));
    var ol = el("ol", "guichet-summary__list");
    (custom.items || []).forEach(function (item) {
      var li = el("li", "guichet-summary__item");
      li.setAttribute("data-status", item.status);
      li.appendChild(el("p", "guichet-card__heading", item.title + (item.operator_name ? " — " + item.operator_name : "")));
      var meta = el("p", "fr-text--sm fr-mb-1w");
      if (item.category) meta.appendChild(badge(item.category, item.category_label));
      meta.appendChild(el("span", "fr-ml-1w", item.status_label));
      li.appendChild(meta);
      if (item.next_step) li.appendChild(el("p", "guichet-card__next", item.next_step));
      if ((item.contacts || []).length) li.appendChild(contactsBlock(agent ? "Contacts" : "Contacts utiles", item.contacts));
      ol.appendChild(li);
    });
    card.appendChild(ol);
    if ((custom.facts || []).length) {
      card.appendChild(el("p", "guichet-card__heading", agent ? "Éléments connus" : "Ce que vous nous avez indiqué"));
      var facts = el("ul", "guichet-list");
      custom.facts.forEach(function (f) { facts.appendChild(el("li", "", f)); });
      card.appendChild(facts);
    }
    card.appendChild(el("p", "guichet-card__heading", agent ? "Reste à traiter" : "Ce qu'il reste à faire"));
    var open = el("ul", "guichet-list guichet-summary__open");
    (custom.open && custom.open.length ? custom.open : ["Rien : toutes les démarches ont été vues."]).forEach(function (o) {
      open.appendChild(el("li", "", o));
    });
    card.appendChild(open);
    var actions = el("div", "guichet-card__actions");
    var copy = el("button", "fr-btn fr-btn--sm fr-btn--secondary fr-icon-clipboard-line fr-btn--icon-left", "Copier la synthèse");
    copy.type = "button";
    copy.addEventListener("click", function () { copyText(custom.text, copy, "Synthèse copiée"); });
    actions.appendChild(copy);
    if (agent && conversation && conversation.channel === "conseiller" && conversation.sessionId) {
      var print = el("a", "fr-btn fr-btn--sm fr-btn--tertiary fr-icon-printer-line fr-btn--icon-left",
        "Version imprimable pour l'usager");
      print.href = "/conseiller/synthese/" + encodeURIComponent(conversation.sessionId);
      print.target = "_blank";
      print.rel = "noopener";
      print.title = "Version imprimable pour l'usager (nouvelle fenêtre)";
      actions.appendChild(print);
    }
    card.appendChild(actions);
    return card;
  }

  /* The answer card of docs/api.md ("answer" payload). */
  function answerCard(custom) {
    var card = el("article", "guichet-card" + (custom.category === "urgent" ? " guichet-card--urgent" : ""));
    card.setAttribute("data-demarche", custom.demarche || "");
    card.setAttribute("data-category", custom.category || "");
    var numbers = custom.emergency_numbers || [];
    if (numbers.length) {
      var alert = el("div", "fr-alert fr-alert--error fr-mb-2w");
      alert.appendChild(el("h3", "fr-alert__title", "Numéros d'urgence, gratuits, 24 h sur 24"));
      var ul = el("ul", "guichet-list");
      numbers.forEach(function (n) { ul.appendChild(contactItem(n)); });
      alert.appendChild(ul);
      card.appendChild(alert);
    }
    var badges = el("div", "guichet-card__badges");
    var categoryWrap = el("p", "guichet-card__category fr-mb-1w");
    categoryWrap.appendChild(el("span", "fr-sr-only", "Catégorie : "));
    categoryWrap.appendChild(badge(custom.category, custom.category_label));
    badges.appendChild(categoryWrap);
    card.appendChild(badges);
    card.appendChild(el("h3", "guichet-card__title fr-h6", custom.title || "Votre situation"));
    if (custom.operator_name) card.appendChild(el("p", "guichet-card__operator fr-text--sm", custom.operator_name));
    card.appendChild(el("p", "guichet-card__heading",
      custom.audience === "agent" ? "Action à réaliser par le conseiller France services" : "Prochaine étape"));
    card.appendChild(el("p", "guichet-card__next", custom.next_step));
    if ((custom.contacts || []).length) {
      card.appendChild(contactsBlock(custom.audience === "agent" ? "Contacts" : "Contacts utiles", custom.contacts));
    }
    if ((custom.caveats || []).length) {
      var caveats = el("div", "guichet-card__caveats");
      caveats.appendChild(el("p", "guichet-card__heading", "À savoir"));
      var cl = el("ul", "guichet-list");
      custom.caveats.forEach(function (c) { cl.appendChild(el("li", "", c)); });
      caveats.appendChild(cl);
      card.appendChild(caveats);
    }
    (custom.local || []).forEach(function (sup) {
      var local = el("div", "guichet-card__local fr-callout");
      local.appendChild(el("p", "fr-callout__title fr-text--md", "Précision locale (département " + sup.departement + ") — " + sup.title));
      local.appendChild(el("p", "fr-callout__text fr-text--sm", sup.text));
      if ((sup.contacts || []).length) {
        var lu = el("ul", "guichet-list");
        sup.contacts.forEach(function (c) { lu.appendChild(contactItem(c)); });
        local.appendChild(lu);
      }
      card.appendChild(local);
    });
    var source = sourceLine(custom.source);
    if (source) card.appendChild(source);
    return card;
  }

  function copyText(text, button, copiedLabel) {
    function done(ok) {
      var old = button.getAttribute("data-label") || button.textContent;
      button.setAttribute("data-label", old);
      button.textContent = ok ? (copiedLabel || "Fiche copiée") : "Copie impossible : sélectionnez le texte";
      setTimeout(function () { button.textContent = old; }, 2500);
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(fallback()); });
    } else {
      done(fallback());
    }
    function fallback() {
      var area = el("textarea", "guichet-offscreen");
      area.value = text;
      area.setAttribute("aria-hidden", "true");
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      return ok;
    }
  }

  var counter = 0;
  function uid(prefix) { counter += 1; return prefix + "-" + counter; }

  /* Feedback form under an answer (utile / pas utile + optional comment). */
  function feedbackForm(conversation, custom) {
    var form = el("form", "guichet-feedback");
    form.noValidate = true;
    var fieldset = el("fieldset", "fr-fieldset guichet-feedback__set");
    var legend = el("legend", "fr-fieldset__legend fr-text--sm", "Cette réponse vous a-t-elle été utile ?");
    fieldset.appendChild(legend);
    var group = el("div", "fr-btns-group fr-btns-group--inline fr-btns-group--sm");
    var choice = null;
    var buttons = [["utile", "Utile", true], ["pas-utile", "Pas utile", false]].map(function (def) {
      var b = el("button", "fr-btn fr-btn--sm fr-btn--secondary", def[1]);
      b.type = "button";
      b.setAttribute("aria-pressed", "false");
      b.setAttribute("data-feedback", def[0]);
      b.addEventListener("click", function () {
        choice = def[2];
        buttons.forEach(function (other) { other.setAttribute("aria-pressed", String(other === b)); });
        extra.hidden = false;
      });
      group.appendChild(b);
      return b;
    });
    fieldset.appendChild(group);
    var extra = el("div", "guichet-feedback__extra");
    extra.hidden = true;
    var id = uid("commentaire");
    var label = el("label", "fr-label", "Commentaire (facultatif)");
    label.htmlFor = id;
    var area = el("textarea", "fr-input");
    area.id = id;
    area.maxLength = 500;
    area.rows = 2;
    var send = el("button", "fr-btn fr-btn--sm fr-mt-1w", "Envoyer mon avis");
    send.type = "submit";
    extra.appendChild(label);
    extra.appendChild(area);
    extra.appendChild(send);
    fieldset.appendChild(extra);
    form.appendChild(fieldset);
    var status = el("p", "fr-text--sm guichet-feedback__status");
    status.setAttribute("role", "status");
    form.appendChild(status);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (choice === null) return;
      send.disabled = true;
      fetch("/api/avis", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify({
          session_id: conversation.sessionId, channel: conversation.channel,
          demarche: custom.demarche || null, useful: choice, comment: area.value || null
        })
      }).then(function (r) {
        if (!r.ok) throw new Error(String(r.status));
        fieldset.hidden = true;
        status.textContent = "Merci pour votre avis.";
      }).catch(function () {
        send.disabled = false;
        status.textContent = "Votre avis n'a pas pu être enregistré. Réessayez dans un instant.";
      });
    });
    return form;
  }

  function Conversation(options) {
    this.channel = options.channel;
    this.root = options.root;
    this.log = this.root.querySelector(".guichet-log");
    this.form = this.root.querySelector(".guichet-form");
    this.input = this.form.querySelector("input[name=message]");
    this.status = this.root.querySelector(".guichet-status");
    this.persist = !!options.persist;
    this.storageKey = "guichet.session." + this.channel;
    this.copyCards = !!options.copyCards;
    this.onActivity = options.onActivity || function () {};
    this.onSend = options.onSend || function () {};
    this.sessionId = null;
    this.socket = null;
    this.handoffBar = null;
    var self = this;
    if (this.channel === "borne" || this.channel === "chat") this.setupHandoff();
    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = self.input.value;
      if (!text.trim()) {
        self.setStatus("Écrivez votre message avant de l'envoyer.");
        self.input.focus();
        return;
      }
      self.send(text, text);
      self.input.value = "";
      self.input.focus();
    });
  }

  Conversation.prototype.setStatus = function (text) {
    if (this.status) this.status.textContent = text || "";
  };

  Conversation.prototype.start = function () {
    var self = this;
    var stored = this.persist ? window.sessionStorage.getItem(this.storageKey) : null;
    var askHistory = !!stored;
    this.sessionId = stored;
    this.socket = window.io({ path: "/socket.io", transports: ["websocket", "polling"], auth: { channel: this.channel } });
    this.socket.on("connect", function () {
      self.socket.emit("session_request", { session_id: self.sessionId, history: askHistory });
      askHistory = false;
    });
    this.socket.on("session_confirm", function (id) {
      var sid = typeof id === "string" ? id : (id && id.session_id);
      self.sessionId = sid;
      if (self.persist) window.sessionStorage.setItem(self.storageKey, sid);
      self.root.setAttribute("data-session", "ready");
      self.setStatus("");
    });
    this.socket.on("history", function (items) {
      self.log.textContent = "";
      items = items || [];
      items.forEach(function (item, index) {
        if (item.from === "user") self.showUser(item.text);
        else self.showBot(item, index !== items.length - 1);  // only the last reply stays actionable
      });
    });
    this.socket.on("bot_uttered", function (message) {
      self.root.removeAttribute("aria-busy");
      self.showBot(message, false);
      self.onActivity();  // the person reads the answer: the kiosk's idle delay starts again from it
    });
    this.socket.on("handoff_state", function (state) {
      self.setHandoff(state && state.state);
    });
    this.socket.on("session_expired", function () {
      self.setStatus("La session a expiré : rechargez la page.");
    });
    this.socket.on("connect_error", function () {
      self.setStatus("Connexion au service impossible pour le moment ; nouvel essai en cours…");
    });
    this.socket.on("disconnect", function () {
      self.setStatus("Connexion interrompue ; reconnexion en cours…");
    });
  };

  Conversation.prototype.stop = function () {
    if (this.socket) this.socket.disconnect();
    this.socket = null;
  };

  /* `message` is what Rasa receives (text or a button payload); `display` is what the page shows. */
  Conversation.prototype.send = function (message, display) {
    if (!this.socket || !this.sessionId) {
      this.setStatus("Connexion en cours… réessayez dans un instant.");
      return false;
    }
    this.onActivity();
    this.onSend();
    this.showUser(display);
    this.root.setAttribute("aria-busy", "true");
    this.socket.emit("user_uttered", { message: message, session_id: this.sessionId });
    return true;
  };

  Conversation.prototype.append = function (node) {
    this.log.appendChild(node);
    node.scrollIntoView({ block: "nearest" });
  };

  /* -- a counsellor takes over (kiosk and web chat) -------------------------------------- */
  var HANDOFF_TEXTS = {
    queued: "Votre demande est transmise aux conseillers France services : un conseiller va vous répondre.",
    taken: "Un conseiller France services vous répond."
  };

  Conversation.prototype.setupHandoff = function () {
    var self = this;
    var ask = this.root.querySelector(".guichet-ask");
    if (ask) {
      ask.addEventListener("click", function () { self.askCounsellor(); });
    }
    var bar = el("div", "fr-notice fr-notice--info guichet-handoff");
    bar.hidden = true;
    var text = el("p", "guichet-handoff__text");
    text.setAttribute("role", "status");
    var leave = el("button", "fr-btn fr-btn--sm fr-btn--secondary guichet-handoff__leave", "Quitter l'échange avec le conseiller");
    leave.type = "button";
    leave.addEventListener("click", function () {
      if (self.socket) self.socket.emit("handoff_leave", {});
    });
    bar.appendChild(text);
    bar.appendChild(leave);
    this.form.parentNode.insertBefore(bar, this.form);
    this.handoffBar = { box: bar, text: text, leave: leave };
  };

  Conversation.prototype.askCounsellor = function () {
    return this.send("/demander_conseiller", "Parler à un conseiller");
  };

  Conversation.prototype.setHandoff = function (state) {
    if (!this.handoffBar) return;
    var text = HANDOFF_TEXTS[state];
    this.root.setAttribute("data-handoff", text ? state : "none");
    this.handoffBar.box.hidden = !text;
    this.handoffBar.text.textContent = text || "";
    this.handoffBar.leave.textContent = state === "queued" ? "Annuler ma demande de conseiller" : "Quitter l'échange avec le conseiller";
  };

  Conversation.prototype.leaveHandoff = function () {
    if (this.socket && this.root.getAttribute("data-handoff") && this.root.getAttribute("data-handoff") !== "none") {
      this.socket.emit("handoff_leave", {});
    }
  };

  /* Outside opening hours: a way to be called back, given only with explicit consent. */
  Conversation.prototype.callbackForm = function () {
    var self = this;
    var form = el("form", "guichet-callback");
    form.noValidate = true;
    var fieldset = el("fieldset", "fr-fieldset");
    fieldset.appendChild(el("legend", "fr-fieldset__legend fr-text--md", "Être recontacté par un conseiller France services"));
    var contactId = uid("rappel-contact"), noteId = uid("rappel-note"), consentId = uid("rappel-accord");
    var g1 = el("div", "fr-input-group");
    var l1 = el("label", "fr-label", "Téléphone ou adresse électronique");
    l1.htmlFor = contactId;
    var contact = el("input", "fr-input");
    contact.id = contactId;
    contact.type = "text";
    contact.maxLength = 120;
    contact.autocomplete = "tel";
    g1.appendChild(l1);
    g1.appendChild(contact);
    var g2 = el("div", "fr-input-group");
    var l2 = el("label", "fr-label", "Votre démarche en quelques mots (facultatif)");
    l2.htmlFor = noteId;
    var note = el("textarea", "fr-input");
    note.id = noteId;
    note.rows = 2;
    note.maxLength = 500;
    g2.appendChild(l2);
    g2.appendChild(note);
    var g3 = el("div", "fr-checkbox-group");
    var consent = el("input");
    consent.type = "checkbox";
    consent.id = consentId;
    var l3 = el("label", "fr-label", "J'accepte que l'espace France services conserve ce moyen de me joindre pour me " +
      "recontacter. Il sera effacé une fois le rappel fait, et au plus tard à la fin de la durée de conservation.");
    l3.htmlFor = consentId;
    g3.appendChild(consent);
    g3.appendChild(l3);
    var send = el("button", "fr-btn fr-mt-1w", "Demander à être rappelé");
    send.type = "submit";
    [g1, g2, g3, send].forEach(function (n) {  /* one per line: DSFR lays a fieldset's children out in a row */
      var row = el("div", "fr-fieldset__element");
      row.appendChild(n);
      fieldset.appendChild(row);
    });
    form.appendChild(fieldset);
    var status = el("p", "fr-text--sm guichet-callback__status");
    status.setAttribute("role", "status");
    form.appendChild(status);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!self.socket) return;
      send.disabled = true;
      self.socket.emit("callback_request", { contact: contact.value, note: note.value, consent: consent.checked },
        function (result) {
          result = result || {};
          if (result.ok) {
            fieldset.hidden = true;
            status.textContent = result.text;
          } else {
            send.disabled = false;
            status.textContent = result.error || "Votre demande n'a pas pu être enregistrée.";
          }
        });
    });
    return form;
  };

  Conversation.prototype.showUser = function (text) {
    var bubble = el("div", "guichet-msg guichet-msg--user");
    bubble.appendChild(el("span", "fr-sr-only", "Vous : "));
    bubble.appendChild(el("p", "guichet-msg__text", text));
    this.append(bubble);
  };

  Conversation.prototype.showBot = function (message, past) {
    /* `past`: a reply replayed from history and already followed by an answer (buttons disabled). */
    var self = this;
    var custom = message.custom || {};
    var wrap = el("div", "guichet-msg guichet-msg--bot");
    wrap.appendChild(el("span", "fr-sr-only", "Guichet : "));
    if (custom.type === "answer") {
      var card = answerCard(custom);
      wrap.appendChild(card);
      var actions = el("div", "guichet-card__actions");
      if (this.copyCards && message.text) {
        var copy = el("button", "fr-btn fr-btn--sm fr-btn--tertiary fr-icon-clipboard-line fr-btn--icon-left", "Copier la réponse");
        copy.type = "button";
        copy.addEventListener("click", function () { copyText(message.text, copy); });
        actions.appendChild(copy);
      }
      if (!past) actions.appendChild(feedbackForm(this, custom));
      card.appendChild(actions);
    } else if (custom.type === "counsellor_message") {
      wrap.className = "guichet-msg guichet-msg--counsellor";
      wrap.textContent = "";
      wrap.appendChild(el("p", "guichet-msg__who fr-text--sm", "Conseiller France services :"));
      wrap.appendChild(el("p", "guichet-msg__text", message.text));
    } else if (custom.type === "requests") {
      wrap.appendChild(caseList(custom, message.text));
    } else if (custom.type === "summary") {
      wrap.appendChild(summaryCard(custom, this));
    } else if (message.text) {
      var alertLike = custom.type === "out_of_scope" || custom.type === "unavailable" || custom.type === "handoff";
      var p = el("p", "guichet-msg__text" + (alertLike ? " guichet-msg__text--notice" : ""), message.text);
      wrap.appendChild(p);
    }
    if (custom.type === "handoff" && !past) this.setHandoff(custom.state);
    if (custom.offer_counsellor && this.handoffBar) {
      var offer = el("button", "fr-btn fr-btn--secondary fr-btn--sm guichet-offer", "Parler à un conseiller");
      offer.type = "button";
      offer.addEventListener("click", function () { if (self.askCounsellor()) offer.disabled = true; });
      if (past) offer.disabled = true;
      wrap.appendChild(offer);
    }
    if (custom.type === "handoff" && custom.callback && !past) wrap.appendChild(this.callbackForm());
    var buttons = message.buttons || [];
    if (buttons.length) {
      var group = el("ul", "fr-btns-group fr-btns-group--inline-sm guichet-choices");
      group.setAttribute("aria-label", "Réponses possibles");
      buttons.forEach(function (b) {
        var li = el("li");
        var btn = el("button", "fr-btn fr-btn--secondary guichet-choice", b.title);
        btn.type = "button";
        btn.setAttribute("data-payload", b.payload);
        btn.addEventListener("click", function () {
          if (self.send(b.payload, b.title)) {
            group.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
          }
        });
        li.appendChild(btn);
        group.appendChild(li);
      });
      if (past) group.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
      wrap.appendChild(group);
    }
    this.append(wrap);
  };

  return {
    Conversation: Conversation,
    answerCard: answerCard,
    badge: badge,
    contactItem: contactItem,
    copyText: copyText,
    el: el
  };
})();
