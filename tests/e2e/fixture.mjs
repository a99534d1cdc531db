// The usual stage of an end-to-end file: the fake chatgpt.com, the fake providers, Chromium with the
// extension mapped onto them, and an extension page to configure it from. `close()` takes it down.
import { launch, openExtensionPage } from './browser.mjs';
import { startFakeChatgpt } from './fake-chatgpt/server.mjs';
import { startFakeProviders } from './fake-providers/server.mjs';

export async function chatStage({ site: siteOptions, control: controlPage = 'www/popup.html', launch: launchOptions = {} } = {}) {
  const site = await startFakeChatgpt(siteOptions);
  const fake = await startFakeProviders();
  const browser = await launch({ chatgptPort: site.port, ...launchOptions });
  const control = await openExtensionPage(browser.context, controlPage);
  return {
    site, fake, browser, control,
    async close() {
      await browser.close();
      await fake.close();
      await site.close();
    },
  };
}
