// The privacy policy page: its text in the user's language (extension/i18n/privacy.json).
import '../i18n.js';

const { localize, lang } = globalThis.understudyI18n;
document.documentElement.lang = lang();
localize();
