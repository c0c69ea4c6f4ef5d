// Firefox ESR profile for tests/signaling/browser/firefox_chromium.js (runs in a private netns; from the fixture capture recipe).
user_pref("media.navigator.streams.fake", true);            // fake camera + mic
user_pref("media.navigator.permission.disabled", true);     // no permission prompt
// Without a camera/mic permission Firefox gathers only on the "default route" address,
// which does not exist in the netns (no candidates at all). Allow both by default:
user_pref("permissions.default.camera", 1);
user_pref("permissions.default.microphone", 1);
user_pref("media.peerconnection.ice.loopback", true);       // gather on lo
user_pref("media.peerconnection.ice.obfuscate_host_addresses", false); // no mDNS .local names
user_pref("media.peerconnection.ice.default_address_only", false);
user_pref("media.peerconnection.ice.no_host", false);
user_pref("media.peerconnection.use_document_iceservers", false);
user_pref("media.peerconnection.default_iceservers", "[]");
user_pref("media.autoplay.default", 0);
// quiet: no update/telemetry/safebrowsing/remote settings/captive portal traffic
user_pref("app.update.enabled", false);
user_pref("app.update.auto", false);
user_pref("app.normandy.enabled", false);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("browser.safebrowsing.downloads.enabled", false);
user_pref("browser.safebrowsing.provider.google4.updateURL", "");
user_pref("browser.safebrowsing.provider.mozilla.updateURL", "");
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("toolkit.telemetry.unified", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("network.dns.disablePrefetch", true);
user_pref("network.prefetch-next", false);
user_pref("network.proxy.type", 0);
user_pref("services.settings.server", "http://127.0.0.1:9/");
user_pref("extensions.update.enabled", false);
user_pref("extensions.getAddons.cache.enabled", false);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.aboutwelcome.enabled", false);
user_pref("trailhead.firstrun.didSeeAboutWelcome", true);
user_pref("datareporting.policy.firstRunURL", "");
user_pref("browser.newtabpage.enabled", false);
user_pref("browser.startup.page", 0);
user_pref("browser.ping-centre.telemetry", false);
user_pref("media.gmp-manager.updateEnabled", false);
user_pref("media.gmp-gmpopenh264.enabled", false);
user_pref("browser.region.update.enabled", false);
user_pref("network.trr.mode", 5);
