// The desk's texts, French and English: English when the browser's first
// language is English, French otherwise (the users are French).
// @ts-check
"use strict";

/** The page's texts and its language (one name in the page's scope). */
const i18n = (() => {
  const TEXTS = {
    fr: {
      skip: "Aller au contenu",
      title: "Poste téléphonique",
      account: "Compte",
      wall: "Mur des lignes",
      walltitle: "Mur des lignes",
      mydesk: "Mon poste",
      logout: "Se déconnecter",
      login: "Connexion",
      ident: "Identifiant du poste",
      secret: "Secret",
      signin: "Se connecter",
      badlogin: "Identifiant ou secret incorrect.",
      incoming: "Appels entrants",
      calls: "Appels en cours",
      nocalls: "Aucun appel en cours.",
      dial: "Appeler",
      fromline: "Depuis la ligne",
      number: "Numéro",
      numberhint: "03 88 20 20 20, +33 3…, tel:…",
      call: "Appeler",
      dialing: "Appel de {n} en cours…",
      dialed: "Appel de {n} lancé.",
      history: "Historique",
      search: "Rechercher",
      kind: "Type",
      all: "Tous",
      made: "Émis",
      received: "Reçus",
      missed: "Manqués",
      when: "Quand",
      kindcol: "Sens",
      party: "Correspondant",
      outcome: "Issue",
      duration: "Durée",
      nohistory: "Aucun appel.",
      notifyask: "Prévenir des appels par une notification",
      missedcount: "{n} manqué(s)",
      missedlabel: "{n} appel(s) manqué(s) non vu(s)",
      callfrom: "Appel de {who}",
      callto: "Appel vers {who}",
      openrecord: "Ouvrir la fiche",
      ringing: "Sonne",
      talking: "En communication",
      parked: "En attente (place {slot})",
      ended: "Terminé",
      answer: "Décrocher",
      hangup: "Raccrocher",
      reject: "Rejeter",
      transfer: "Transférer",
      transferto: "Transférer vers",
      park: "Parquer",
      unpark: "Reprendre",
      pause: "Mettre en attente",
      merge: "Fusionner",
      cannot: "{provider} ne permet pas cette action",
      failed: "Refusé : {why}",
      lost: "Connexion au serveur perdue, reprise…",
      back: "Connecté.",
      out: "Émis",
      in: "Reçu",
      answered: "Répondu",
      unanswered: "Sans réponse",
      missedcall: "Manqué",
      inprogress: "En cours",
      rang: "sonné {d}",
      talked: "parlé {d}",
      callback: "Rappeler {n}",
      withheld: "Numéro masqué",
      line: "Ligne",
      desks: "Postes",
      state: "État",
      free: "Libre",
      today: "Aujourd'hui",
      quick: "Décrochés en moins de 20 s",
      lines: "Lignes",
      nopark: "Aucun appel en attente.",
      callpark: "Parking d'appels",
      onslot: "place {slot}",
      notsupervisor: "Le mur des lignes est réservé aux superviseurs.",
      language: "Langue",
      nodesks: "Ce serveur n'a aucun poste déclaré : la connexion est impossible. Ajoutez une section <desk> (<ident>, <secret>, <lines>) à son fichier server_param.txt, puis redémarrez-le.",
    },
    en: {
      skip: "Skip to content",
      title: "Phone desk",
      account: "Account",
      wall: "Lines wall",
      walltitle: "Lines wall",
      mydesk: "My desk",
      logout: "Log out",
      login: "Log in",
      ident: "Desk ident",
      secret: "Secret",
      signin: "Log in",
      badlogin: "Wrong ident or secret.",
      incoming: "Incoming calls",
      calls: "Calls in progress",
      nocalls: "No call in progress.",
      dial: "Call",
      fromline: "From line",
      number: "Number",
      numberhint: "03 88 20 20 20, +33 3…, tel:…",
      call: "Call",
      dialing: "Calling {n}…",
      dialed: "Call to {n} placed.",
      history: "History",
      search: "Search",
      kind: "Kind",
      all: "All",
      made: "Made",
      received: "Received",
      missed: "Missed",
      when: "When",
      kindcol: "Direction",
      party: "Party",
      outcome: "Outcome",
      duration: "Duration",
      nohistory: "No calls.",
      notifyask: "Tell me of calls with a notification",
      missedcount: "{n} missed",
      missedlabel: "{n} missed call(s) not seen",
      callfrom: "Call from {who}",
      callto: "Call to {who}",
      openrecord: "Open record",
      ringing: "Ringing",
      talking: "Connected",
      parked: "Parked (slot {slot})",
      ended: "Ended",
      answer: "Answer",
      hangup: "Hang up",
      reject: "Reject",
      transfer: "Transfer",
      transferto: "Transfer to",
      park: "Park",
      unpark: "Take back",
      pause: "Hold",
      merge: "Merge",
      cannot: "{provider} cannot do this",
      failed: "Refused: {why}",
      lost: "Connection to the server lost, resuming…",
      back: "Connected.",
      out: "Made",
      in: "Received",
      answered: "Answered",
      unanswered: "Not answered",
      missedcall: "Missed",
      inprogress: "In progress",
      rang: "rang {d}",
      talked: "talked {d}",
      callback: "Call {n} back",
      withheld: "Withheld number",
      line: "Line",
      desks: "Desks",
      state: "State",
      free: "Free",
      today: "Today",
      quick: "Answered within 20 s",
      lines: "Lines",
      nopark: "No call waiting.",
      callpark: "Call park",
      onslot: "slot {slot}",
      notsupervisor: "The lines wall is for supervisors.",
      language: "Language",
      nodesks: "This server has no desk: nobody can log in. Add a <desk> section (<ident>, <secret>, <lines>) to its server_param.txt, then restart it.",
    },
  };

  /** The language chosen in the page (kept by the browser), else the browser's. */
  function storedLang(ident) {
    try {
      return localStorage.getItem(ident ? "ctibridge.lang." + ident : "ctibridge.lang");
    } catch (_) {
      return null; // storage refused
    }
  }

  let LANG = storedLang() || ((navigator.languages && navigator.languages[0] || navigator.language || "fr")
    .toLowerCase().startsWith("en") ? "en" : "fr");

  /**
   * The page's language is `lang` from now on, kept for this browser and,
   * with `ident`, for that desk.
   */
  function setLang(lang, ident) {
    if (!TEXTS[lang]) return;
    LANG = lang;
    try {
      localStorage.setItem("ctibridge.lang", lang);
      if (ident) localStorage.setItem("ctibridge.lang." + ident, lang);
    } catch (_) { /* kept for this page only */ }
    applyTexts();
  }

  /** The text `key` in the page's language, with `{name}` filled from `vars`. */
  function t(key, vars) {
    let text = (TEXTS[LANG] && TEXTS[LANG][key]) || TEXTS.fr[key] || key;
    for (const [k, v] of Object.entries(vars || {})) {
      text = text.split("{" + k + "}").join(String(v));
    }
    return text;
  }

  /** Puts the page's texts in its language. */
  function applyTexts(root) {
    document.documentElement.lang = LANG;
    const choice = /** @type {HTMLSelectElement | null} */ (document.getElementById("lang"));
    if (choice) choice.value = LANG;
    for (const el of (root || document).querySelectorAll("[data-t]")) {
      el.textContent = t(el.dataset.t);
    }
    for (const el of (root || document).querySelectorAll("[data-t-aria]")) {
      el.setAttribute("aria-label", t(el.dataset.tAria));
    }
    for (const el of (root || document).querySelectorAll("[data-t-placeholder]")) {
      el.setAttribute("placeholder", t(el.dataset.tPlaceholder));
    }
  }

  /** The page's language now (`fr`, `en`). */
  const lang = () => LANG;

  return { t, setLang, applyTexts, storedLang, lang };
})();
