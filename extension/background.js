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

// Messages the core answers by itself (hello; anything unknown is refused with the core's reason).
onMessages(ext, ['hello'], (message) => core.handleMessage(message));
refuseUnclaimed(ext);
// Chat pages' frequent messages (captures, detection observations) over one port per page.
servePagePort(ext);
