// The service worker (an event page in Firefox). Thin glue: every decision is made by the Wasm core.
// Listeners are registered synchronously at the top level of each feature module; the worker keeps
// no state in globals that matters after it is stopped (it is stopped after 30 s idle).
import { ext } from './api.js';
import { core, onMessages, refuseUnclaimed, servePagePort } from './sw/core.js';
import './sw/detect.js';
import './sw/cache.js';
import './sw/capture.js';
import './sw/providers.js';
import './sw/models.js';
import './sw/settings.js';
import './sw/rescue.js';
import './sw/commands.js';
import { siteOff } from './sw/watched.js';

// Messages the core answers by itself (hello; anything unknown is refused with the core's reason).
// A chat site the user switched off (options: `sites_off`) is answered as no chat site: its
// content scripts stay idle there.
onMessages(ext, ['hello'], async (message) => {
  const reply = core.handleMessage(message);
  return reply?.site && (await siteOff(reply.site)) ? { ...reply, site: null, site_off: true } : reply;
});
refuseUnclaimed(ext);
// Chat pages' frequent messages (captures, detection observations) over one port per page.
servePagePort(ext);
