// Opens the live view in headless chromium and checks it keeps in step.
// Usage: node web/test/browser.mjs --url http://127.0.0.1:PORT/ [--updates 20]
//          [--screenshot OUT.png] [--token HEX] [--timeout 60]
// Waits until window.myriadView.updates >= N, requires the client's view
// hash to equal the server's and WebGL to work, saves a screenshot and
// checks the drawn canvas is not blank. Prints
// "view_hash=... server_hash=... updates=N"; exit 0 on pass, 1 on failure.
import { chromium } from 'playwright-core';

function parseArgs(argv) {
  const opts = { url: '', updates: 20, screenshot: '', token: '', timeout: 60 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in opts) || i + 1 >= argv.length) throw new Error(`usage: browser.mjs --url URL [--updates N] [--screenshot OUT.png] [--token HEX]`);
    opts[key] = typeof opts[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (!opts.url) throw new Error('--url is required');
  return opts;
}

function fail(message) {
  console.error(`browser test FAILED: ${message}`);
  process.exitCode = 1;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const url = opts.token ? `${opts.url.replace(/#.*$/, '')}#token=${opts.token}` : opts.url;
  // SwiftShader gives WebGL without a GPU; --no-sandbox because tests run as root.
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    const logs = [];
    page.on('console', (m) => logs.push(`console.${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`page error: ${e.message}`));
    await page.goto(url, { waitUntil: 'load', timeout: opts.timeout * 1000 });
    try {
      await page.waitForFunction((n) => window.myriadView && window.myriadView.updates >= n, opts.updates,
        { timeout: opts.timeout * 1000, polling: 100 });
    } catch {
      const v = await page.evaluate(() => window.myriadView).catch(() => null);
      logs.forEach((l) => console.error(l));
      return fail(`fewer than ${opts.updates} updates within ${opts.timeout} s: ${JSON.stringify(v)}`);
    }
    // Let the draw loop and the figures catch up, then read one consistent state.
    await page.waitForTimeout(600);
    const v = await page.evaluate(() => ({ ...window.myriadView }));
    console.log(`view_hash=${v.viewHash} server_hash=${v.serverHash} updates=${v.updates}`);
    if (opts.screenshot) await page.screenshot({ path: opts.screenshot });
    const colours = await page.evaluate(distinctCanvasColours);
    logs.forEach((l) => console.error(l));
    if (!/^[0-9a-f]{16}$/.test(v.viewHash)) return fail(`view hash "${v.viewHash}" is not 16 hex digits`);
    if (v.viewHash !== v.serverHash) return fail(`view hash ${v.viewHash} != server hash ${v.serverHash}`);
    if (!v.webgl) return fail('no WebGL context');
    if (colours < 2) return fail(`the canvas is blank (${colours} colour)`);
    console.log(`canvas colours=${colours} entities=${v.count} webgl=${v.webglVersion} connected=${v.connected}`);
  } finally {
    await browser.close();
  }
}

// Runs in the page: copies the WebGL canvas (drawn with
// preserveDrawingBuffer) to a 2D canvas and counts its distinct colours.
function distinctCanvasColours() {
  const src = document.getElementById('view');
  const c = document.createElement('canvas');
  c.width = src.width;
  c.height = src.height;
  const ctx = c.getContext('2d');
  ctx.drawImage(src, 0, 0);
  const data = ctx.getImageData(0, 0, c.width, c.height).data;
  const seen = new Set();
  for (let i = 0; i < data.length && seen.size < 1000; i += 4) seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
  return seen.size;
}

main().catch((e) => fail(e.stack || e.message));
