// The mock-IPC journeys. Each gets a fresh page; fixtures are in fixtures.ts.
const nav = (page, name) => page.getByRole('navigation').getByRole('button', { name, exact: true }).click();

async function emit(page, event, payload) {
  await page.evaluate(([event, payload]) => window.__TAURI_INTERNALS__.invoke('plugin:event|emit', { event, payload }), [event, payload]);
}

// A status-bar item shows all its text (nothing cut off) and lies inside the bar.
async function fitsIn(page, expect, item, bar) {
  const [w, sw] = await item.evaluate((el) => [el.clientWidth, el.scrollWidth]);
  expect.true(sw <= w, `text cut off: scrollWidth ${sw} > clientWidth ${w}`);
  const a = await item.boundingBox();
  const b = await bar.boundingBox();
  expect.true(a && b && a.x >= b.x && a.x + a.width <= b.x + b.width && a.y >= b.y && a.y + a.height <= b.y + b.height, `outside the bar: ${JSON.stringify(a)} in ${JSON.stringify(b)}`);
}

export const tests = [
  {
    name: 'products view renders tiles and cards from fixture data',
    async run({ page, shot, expect }) {
      await expect.text(page.getByRole('region', { name: 'Total' }), '2,300');
      await expect.text(page.getByRole('region', { name: 'Used' }), '1,796');
      await expect.text(page.getByRole('region', { name: 'Remaining' }), '504');
      await expect.text(page.getByRole('region', { name: 'Unassigned codes' }), '12');
      await expect.visible(page.getByRole('heading', { name: 'Smart Meter S2' }));
      await expect.text(page.locator('[data-pk="p1a2b3"]'), '38 devices go offline at renewal');
      await expect.text(page.locator('[data-pk="p1a2b3"]'), 'runs out ~ 2026-09');
      await expect.text(page.locator('[data-pk="p1a2b3"]'), '5 y · 1,500 msg/day · 1 OTA/mo ≤ 5 MB · 7 d');
      await expect.visible(page.getByRole('button', { name: 'Copy product key p1a2b3' }));
      await expect.text(page.getByTestId('last-synced'), 'Last synced 3 minutes ago');
      await shot('products');
    },
  },
  {
    name: 'products: assign dialog opens from the unassigned tile; Escape closes it and gives the focus back',
    async run({ page, expect }) {
      const assign = page.getByRole('button', { name: 'Assign' });
      await assign.focus();
      await page.keyboard.press('Enter');
      const dialog = page.getByRole('dialog', { name: 'Assign codes to a product' });
      await expect.visible(dialog);
      await expect.visible(page.getByLabel('How many'));
      expect.true(await dialog.evaluate((el) => el.contains(document.activeElement)), 'the focus is not in the dialog');
      await page.getByLabel('How many').focus();
      await page.keyboard.press('Escape');
      await expect.hidden(dialog);
      expect.true(await assign.evaluate((el) => el === document.activeElement), 'Escape did not give the focus back to Assign');
    },
  },
  {
    name: 'products: a product\'s billing opens from its card: policy, top-ups left, this month so far, statements',
    async run({ page, shot, expect }) {
      const card = page.locator('[data-pk="k9x7m2"]');
      await expect.text(card, 'Top-ups: 0 OTA · 6,000 msg');
      await card.getByRole('button', { name: 'Billing of Cold-chain Tracker: overage, top-ups and statements' }).click();
      const dialog = page.getByRole('dialog', { name: 'Billing · Cold-chain Tracker' });
      await expect.visible(dialog);
      await expect.text(dialog, '0 OTA attempts · 6,000 messages');
      await expect.text(dialog, '900 messages · 0 OTA attempts');
      await expect.text(dialog, '12,000 − 8,000 = 4,000');
      await shot('products-billing');
      await page.keyboard.press('Escape');
      await expect.hidden(dialog);
    },
  },
  {
    name: 'products: empty state says what to do next',
    scenario: { emptyProducts: true },
    async run({ page, shot, expect }) {
      await expect.visible(page.getByRole('heading', { name: 'No products yet' }));
      await shot('products-empty');
    },
  },
  {
    name: 'license management: a virtualized table, sorting, charts',
    async run({ page, shot, expect }) {
      await nav(page, 'License Management');
      const table = page.getByRole('table', { name: 'Consumption details' });
      const rows = table.locator('tbody tr[data-index]');
      await expect.attr(table, 'aria-rowcount', '2301');
      await expect.count(table.locator('tbody tr[data-index]:not(.pending)'), (n) => n > 10 && n < 60, 'the rows in view, loaded');
      const drawn = await rows.count();
      await expect.text(page.getByText(/matching$/), '2,300 matching');
      await expect.text(page.getByRole('region', { name: 'Total' }), 'cn-east');
      await expect.visible(page.getByRole('img', { name: 'Codes consumed per month' }));
      await shot('licenses');
      // The Used counter lists its codes: active or expired, none unused.
      const showUsed = page.getByRole('button', { name: 'Show the used codes in the table' });
      await showUsed.click();
      await expect.attr(showUsed, 'aria-pressed', 'true');
      await expect.attr(table, 'aria-rowcount', '1841');
      await expect.count(table.getByText('Unused', { exact: true }), (n) => n === 0, 'no unused code among the used');
      await expect.count(table.getByText('Expired', { exact: true }), (n) => n > 0, 'expired codes among the used');
      await shot('licenses-used');
      await page.getByRole('button', { name: 'Show every code in the table' }).click();
      await expect.attr(table, 'aria-rowcount', '2301');
      // The charts draw no caption: the panel titles them, states the
      // burn-down's figures from Rust and gives the expirations a legend.
      const burnDown = page.getByTestId('burn-down-line');
      await burnDown.scrollIntoViewIfNeeded();
      await expect.text(burnDown, 'At 114 a month, codes run out in ');
      const burnDownChart = page.getByRole('img', { name: 'Remaining codes forecast', exact: true });
      await expect.visible(burnDownChart);
      await expect.attr(burnDownChart, 'aria-describedby', 'burn-down-line');
      const legend = page.getByRole('list', { name: 'Legend' });
      await expect.text(legend, 'Renewed with remaining codes');
      await expect.text(legend, 'Offline for want of codes');
      await shot('licenses-charts');
      // The keyboard scrolls the table (the scroller takes the focus): End
      // reaches the last code, with as many rows in the DOM as before.
      const scroller = page.getByRole('group', { name: 'Consumption details' });
      await scroller.focus();
      await page.keyboard.press('End');
      await expect.count(table.locator('tbody tr[aria-rowindex="2301"]:not(.pending)'), (n) => n === 1, 'the last code, loaded');
      expect.true((await rows.count()) === drawn, `${await rows.count()} rows in the DOM at the end, ${drawn} at the top`);
      // The header stays in view while scrolled.
      const th = table.locator('thead th').first();
      const box = await th.boundingBox();
      const wrap = await scroller.boundingBox();
      expect.true(box && wrap && Math.abs(box.y - wrap.y) < 4, `sticky header at ${box?.y} vs ${wrap?.y}`);
      await page.getByRole('button', { name: 'Sort by Expires at' }).click();
      await expect.attr(table.locator('thead th').nth(4), 'aria-sort', 'descending');
      await page.getByLabel('Status').selectOption('expired');
      await expect.count(table.locator('tbody tr .chip'), (n) => n > 0, 'expired rows');
      const texts = await table.locator('tbody tr .chip').allTextContents();
      expect.true(texts.every((t) => t.trim() === 'Expired'), `statuses ${[...new Set(texts)]}`);
    },
  },
  {
    name: 'license management: a million codes keep the DOM the same size; a jump to row 900,000 paints it',
    scenario: { licenseCount: 1_000_000 },
    async run({ page, shot, expect }) {
      await nav(page, 'License Management');
      const table = page.getByRole('table', { name: 'Consumption details' });
      const rows = table.locator('tbody tr[data-index]');
      await expect.attr(table, 'aria-rowcount', '1000001');
      await expect.text(page.getByText(/matching$/), '1,000,000 matching');
      await expect.count(table.locator('tbody tr[data-index]:not(.pending)'), (n) => n > 10, 'the rows in view, loaded');
      const drawn = await rows.count();
      const nodes = () => page.evaluate(() => document.querySelectorAll('*').length);
      const before = await nodes();
      const scroller = page.getByRole('group', { name: 'Consumption details' });
      // Row i at the top of the view, just under the sticky header.
      const jump = (i) => scroller.evaluate((el, i) => el.scrollToRow(i), i);
      const code = (i) => `${(1000 + i).toString(36).toUpperCase().padStart(4, '0')}-7QKM`;
      for (const i of [1_000, 250_000, 500_000, 900_000, 999_980]) {
        await jump(i);
        const row = table.locator(`tbody tr[aria-rowindex="${i + 2}"]:not(.pending)`);
        await expect.text(row, code(i));
        expect.true((await rows.count()) === drawn, `${await rows.count()} rows in the DOM at row ${i}, ${drawn} at the top`);
        // The row is drawn where it was asked: at the top, under the header.
        const [r, s] = [await row.boundingBox(), await scroller.boundingBox()];
        expect.true(Math.abs(r.y - (s.y + 36)) < 4 || i === 999_980, `row ${i} at ${r.y}, the view's top at ${s.y + 36}`);
        expect.true(r.y >= s.y + 32 && r.y < s.y + s.height - 36, `row ${i} at ${r.y} is out of view (${s.y}..${s.y + s.height})`);
      }
      expect.true(Math.abs((await nodes()) - before) < 20, `DOM nodes ${before} at the top, ${await nodes()} after scrolling a million rows`);
      await jump(900_000);
      await expect.text(table.locator('tbody tr[aria-rowindex="900002"]:not(.pending)'), code(900_000));
      await shot('licenses-900000');
    },
  },
  {
    name: 'devices: near-expiry list, quota and OTA calculator',
    async run({ page, shot, expect }) {
      await nav(page, 'Devices');
      await expect.visible(page.getByRole('table', { name: 'Devices with near-expiry activation codes' }));
      await expect.text(page.getByRole('row', { name: /bridge-0091/ }), 'None');
      await page.getByRole('button', { name: 'meter-004211' }).click();
      const quota = page.getByTestId('quota');
      await expect.text(quota, '1,126 / 1,500');
      await expect.visible(quota.getByRole('img', { name: 'Messages per day, last 30 days' }));
      await expect.text(quota.getByRole('list', { name: 'Legend' }), 'Daily limit');
      await page.getByLabel('Firmware size (bytes)').fill('6291456');
      await expect.text(page.getByTestId('ota-result'), '2 attempts');
      await expect.text(page.getByTestId('ota-result'), 'Not allowed');
      await shot('devices');
      // A firmware file dropped while the calculator is shown goes to it.
      await emit(page, 'tauri://drag-enter', { paths: ['/tmp/fw.bin'] });
      await expect.visible(page.getByRole('dialog', { name: 'Drop a firmware file to compute its OTA cost' }));
      await emit(page, 'tauri://drag-leave', null);
      await expect.hidden(page.getByRole('dialog', { name: 'Drop a firmware file to compute its OTA cost' }));
    },
  },
  {
    name: 'gateway license: details list, plugins, floating lease',
    async run({ page, shot, expect }) {
      await nav(page, 'Gateway License');
      const details = page.getByRole('region', { name: 'This machine' });
      await expect.text(details, 'Issued At');
      await expect.text(details, '2026-01-15');
      await expect.text(details, '3,120 / 5,000');
      await expect.text(details, '48 / 100');
      await expect.visible(details.getByRole('listitem').filter({ hasText: 'opc-ua' }));
      await expect.text(details, 'hw1:5f2c9a7e41b0d8c3');
      const floating = page.getByRole('region', { name: 'Floating license' });
      await expect.text(floating, '320 / 500 points in use');
      await expect.text(floating.locator('tr[data-fingerprint="hw1:5f2c9a7e41b0d8c3"]'), '3:07');
      await expect.text(floating.locator('tr[data-fingerprint="hw1:5f2c9a7e41b0d8c3"]'), 'This machine');
      await expect.text(page.getByRole('region', { name: 'Usage over time' }), '96 reports');
      await shot('gateway');
    },
  },
  {
    name: 'offline import: one row per gateway, each refusal titled by its code above Rust’s message and the code',
    async run({ page, shot, expect }) {
      await nav(page, 'Gateway License');
      const card = page.getByRole('region', { name: 'Offline activation' });
      await card.getByRole('button', { name: 'Import response file' }).click();
      const imported = card.getByTestId('imported');
      await expect.count(imported.getByRole('listitem'), (n) => n === 3, 'imported gateways');
      await expect.text(imported.getByRole('listitem').nth(0), 'Installed');
      const refused = card.locator('[data-code="ORDER_EXHAUSTED"]');
      await expect.text(refused.locator('strong'), 'No license left on the order');
      await expect.text(refused, 'order ORD-2025-0007 has no license left');
      await expect.text(refused.locator('code'), 'ORDER_EXHAUSTED');
      const failed = card.locator('[data-code="GATEWAY_UNKNOWN"]');
      await expect.text(failed.locator('strong'), 'Gateway not added');
      await expect.text(failed, 'which is not in the registry');
      await card.scrollIntoViewIfNeeded();
      await shot('gateway-offline-import');
    },
  },
  {
    name: 'offline import in zh-CN: the refusals are titled in Chinese',
    scenario: { language: 'zh-CN' },
    async run({ page, shot, expect }) {
      await page.getByRole('navigation').getByRole('button', { name: '网关许可证', exact: true }).click();
      const card = page.getByRole('region', { name: '离线激活' });
      await card.getByRole('button', { name: '导入响应文件' }).click();
      await expect.text(card.getByTestId('imported').getByRole('listitem').nth(0), '已安装');
      await expect.text(card.locator('[data-code="ORDER_EXHAUSTED"] strong'), '订单已无剩余许可证');
      await expect.text(card.locator('[data-code="GATEWAY_UNKNOWN"] strong'), '网关尚未添加');
      await expect.attr(card.locator('[data-code="GATEWAY_UNKNOWN"]'), 'title', 'GATEWAY_UNKNOWN');
      await expect.text(card.locator('[data-code="GATEWAY_UNKNOWN"]'), '该许可证绑定的网关 hw1:77d04be19a3c5e20 不在列表中');
      await card.scrollIntoViewIfNeeded();
      await shot('gateway-offline-import-zh');
    },
  },
  {
    name: 'gateway license: trial state when none is installed',
    scenario: { trial: true },
    async run({ page, shot, expect }) {
      await nav(page, 'Gateway License');
      await expect.text(page.getByTestId('kind-chip'), 'Trial license');
      await expect.text(page.getByRole('region', { name: 'This machine' }), 'runs under the built-in trial');
      await expect.text(page.getByRole('region', { name: 'This machine' }), '27 / 30');
      await shot('gateway-trial');
    },
  },
  {
    name: 'upload error is shown, stays, and the previous license is still displayed',
    scenario: { uploadError: true },
    async run({ page, shot, expect }) {
      await nav(page, 'Gateway License');
      await expect.text(page.getByRole('region', { name: 'This machine' }), 'LIC-2026-00417');
      await page.getByRole('button', { name: 'Upload License' }).click();
      const alert = page.locator('[role="alert"][data-code="LICENSE_SIGNATURE_INVALID"]');
      await expect.text(alert.locator('strong'), 'License signature invalid');
      await expect.text(alert, 'signature does not verify');
      await expect.text(page.getByRole('region', { name: 'This machine' }), 'LIC-2026-00417');
      await expect.visible(page.getByText('The license shown below is still installed.'));
      await shot('gateway-upload-error');
    },
  },
  {
    name: 'dropping a file shows the overlay, then the error titled by its code',
    async run({ page, shot, expect }) {
      await nav(page, 'Gateway License');
      await expect.visible(page.getByRole('region', { name: 'This machine' }));
      await emit(page, 'tauri://drag-enter', { paths: ['/home/me/license.lic'], position: { x: 10, y: 10 } });
      const overlay = page.getByRole('dialog', { name: 'Drop a license, request or usage file' });
      await expect.visible(overlay);
      await shot('gateway-drop-overlay');
      await emit(page, 'tauri://drag-drop', { paths: ['/home/me/license.lic'], position: { x: 10, y: 10 } });
      await expect.hidden(overlay);
      const alert = page.locator('[role="alert"][data-code="LICENSE_ARMOR_INVALID"]');
      await expect.text(alert.locator('strong'), 'Not a license file');
      await expect.text(alert, 'not a LicenseDesk license file');
      await shot('gateway-drop-error');
    },
  },
  {
    name: 'a corrupt license file dropped in zh-CN: the title and the text are Chinese, the code on hover',
    scenario: { language: 'zh-CN' },
    async run({ page, shot, expect }) {
      await page.getByRole('navigation').getByRole('button', { name: '网关许可证', exact: true }).click();
      await expect.visible(page.getByRole('region', { name: '本机' }));
      await emit(page, 'tauri://drag-drop', { paths: ['/home/me/license.lic'], position: { x: 10, y: 10 } });
      const alert = page.locator('[role="alert"][data-code="LICENSE_ARMOR_INVALID"]');
      await expect.text(alert.locator('strong'), '不是许可证文件');
      await expect.text(alert.locator('p'), '这不是 LicenseDesk 许可证文件：请选择您收到的、未经修改的 .lic 文件');
      await expect.attr(alert, 'title', 'LICENSE_ARMOR_INVALID');
      await shot('gateway-drop-error-zh');
    },
  },
  {
    name: 'activation code groups as you type and flags a wrong check symbol before sending',
    async run({ page, shot, expect }) {
      await nav(page, 'Gateway License');
      const field = page.locator('#activation-code');
      await field.pressSequentially('7k3mq9tx');
      await expect.value(field, '7K3M-Q9TX');
      const activate = page.getByRole('button', { name: 'Activate' });
      expect.true(await activate.isDisabled(), 'Activate enabled for an incomplete code');
      await field.fill('');
      await field.pressSequentially('7K3MQ9TX2B4R8HJN5WZ0D');
      await expect.value(field, '7K3M-Q9TX-2B4R-8HJN-5WZ0D');
      await expect.attr(field, 'aria-invalid', 'true');
      await expect.text(page.locator('#activation-code-msg'), 'check symbol does not match');
      expect.true(await activate.isDisabled(), 'Activate enabled for a wrong check symbol');
      await shot('gateway-code-invalid');
      await field.press('Backspace');
      await field.pressSequentially('C');
      await expect.text(page.locator('#activation-code-msg'), 'Check symbol OK');
      expect.true(!(await activate.isDisabled()), 'Activate disabled for a valid code');
      await activate.click();
      await expect.visible(page.getByText('Activated: license LIC-2026-00417 installed (4 left on the order)'));
      await shot('gateway-code-ok');
    },
  },
  {
    name: 'language switch changes the strings',
    async run({ page, shot, expect }) {
      await nav(page, 'Settings');
      await page.getByTestId('language').selectOption('zh-CN');
      const navEl = page.getByRole('navigation');
      await expect.visible(navEl.getByRole('button', { name: '产品管理' }));
      await expect.visible(navEl.getByRole('button', { name: '激活码管理' }));
      await expect.visible(navEl.getByRole('button', { name: '网关许可证' }));
      await expect.visible(page.getByRole('heading', { name: '设置' }));
      await navEl.getByRole('button', { name: '产品管理' }).click();
      await expect.visible(page.getByRole('region', { name: '总数' }));
      await expect.text(page.getByTestId('last-synced'), '上次同步');
      await shot('products-zh');
      await navEl.getByRole('button', { name: '网关许可证' }).click();
      await expect.visible(page.getByText('签发时间'));
      await expect.visible(page.getByText('数据标签使用量'));
      await shot('gateway-zh');
      await navEl.getByRole('button', { name: '激活码管理' }).click();
      const burnDown = page.getByTestId('burn-down-line');
      await burnDown.scrollIntoViewIfNeeded();
      await expect.text(burnDown, '按每月 114 个计算，预计');
      await expect.text(page.getByRole('list', { name: '图例' }), '因激活码不足而离线');
      await shot('licenses-charts-zh');
    },
  },
  {
    name: 'offline: status bar, stale marker, outbox with errors',
    scenario: { offline: true },
    async run({ page, shot, expect }) {
      await expect.text(page.getByRole('contentinfo'), 'Offline');
      await expect.text(page.getByTestId('stale'), 'Offline — showing data from');
      await expect.text(page.getByRole('region', { name: 'Total' }), '2,300');
      await page.getByRole('button', { name: /2 pending/ }).click();
      const panel = page.getByRole('dialog', { name: 'Outbox' });
      await expect.text(panel, 'Rejected');
      // The rejected item: its code's title, Rust's message and the code.
      const err = panel.locator('[data-code="ASSIGN_COUNT_EXCEEDS_AVAILABLE"]');
      await expect.text(err.locator('strong'), 'Not enough unassigned codes');
      await expect.text(err, 'only 12 unassigned codes are left');
      await expect.text(err.locator('code'), 'ASSIGN_COUNT_EXCEEDS_AVAILABLE');
      await shot('offline-outbox');
      // Keyboard: the list took the focus, Tab goes on through its buttons,
      // Escape gives the focus back to the bar's button.
      expect.true(await panel.evaluate((el) => el === document.activeElement), 'the outbox did not take the focus');
      await page.keyboard.press('Tab');
      expect.true(await panel.evaluate((el) => el.contains(document.activeElement) && document.activeElement !== el), 'Tab did not go into the outbox');
      await page.keyboard.press('Escape');
      await expect.hidden(panel);
      expect.true(await page.getByRole('button', { name: /2 pending/ }).evaluate((el) => el === document.activeElement), 'Escape did not give the focus back to the outbox button');
    },
  },
  {
    name: 'the outbox in zh-CN: a rejected item is titled and worded in Chinese, its code on hover',
    scenario: { offline: true, language: 'zh-CN' },
    async run({ page, shot, expect }) {
      await page.getByRole('button', { name: /2 项待发送/ }).click();
      const panel = page.getByRole('dialog', { name: '发件箱' });
      const err = panel.locator('[data-code="ASSIGN_COUNT_EXCEEDS_AVAILABLE"]');
      await expect.text(err.locator('strong'), '未分配的激活码不足');
      await expect.text(err, '未分配的激活码不够');
      await expect.attr(err, 'title', 'ASSIGN_COUNT_EXCEEDS_AVAILABLE');
      await expect.visible(panel.getByRole('button', { name: '重试' }));
      await shot('offline-outbox-zh');
    },
  },
  {
    name: 'a failed sync (server unreachable): a short chip, opened from the keyboard, shows the message and the code',
    scenario: { offline: true },
    async run({ page, shot, expect }) {
      const bar = page.getByRole('contentinfo');
      const chip = bar.getByTestId('sync-error');
      await expect.text(chip, 'Server unreachable');
      await fitsIn(page, expect, chip, bar);
      // Keyboard only: from the bar's Sync now, Tab reaches the chip.
      await bar.getByRole('button', { name: 'Sync now' }).focus();
      await page.keyboard.press('Tab');
      expect.true(await chip.evaluate((el) => el === document.activeElement), 'Tab did not reach the error chip');
      const outline = await chip.evaluate((el) => getComputedStyle(el).outlineStyle);
      expect.true(outline !== 'none', `chip focus outline is ${outline}`);
      await shot('sync-error-chip');
      await page.keyboard.press('Enter');
      const panel = page.getByRole('dialog', { name: 'Server unreachable' });
      await expect.text(panel, 'cannot be reached (error sending request for url');
      await expect.text(panel, 'the data shown is from the last sync');
      await expect.text(panel.locator('code'), 'SERVER_UNREACHABLE');
      await expect.attr(chip, 'aria-expanded', 'true');
      const box = await panel.boundingBox();
      expect.true(box && box.x >= 0 && box.x + box.width <= 1280 && box.y >= 0 && box.y + box.height <= 800, `panel outside the window: ${JSON.stringify(box)}`);
      await shot('sync-error-panel');
      await page.keyboard.press('Escape');
      await expect.hidden(panel);
      expect.true(await chip.evaluate((el) => el === document.activeElement), 'Escape did not give the focus back to the chip');
    },
  },
  {
    name: 'a failed sync in zh-CN: the chip says so in Chinese and fits',
    scenario: { offline: true, language: 'zh-CN' },
    async run({ page, shot, expect }) {
      const bar = page.getByRole('contentinfo');
      const chip = bar.getByTestId('sync-error');
      await expect.text(chip, '无法连接服务器');
      await fitsIn(page, expect, chip, bar);
      await chip.click();
      const panel = page.getByRole('dialog', { name: '无法连接服务器' });
      await expect.text(panel, '无法连接许可证服务器'); // the mock's error carries no params
      await expect.text(panel.getByRole('button', { name: '立即同步' }), '立即同步');
      await shot('sync-error-panel-zh');
    },
  },
  {
    name: 'a sync that started over is explained, and the notice is dismissed from the keyboard',
    scenario: { startedOver: true },
    async run({ page, shot, expect }) {
      const notice = page.getByTestId('sync-started-over');
      await expect.text(notice, "The server's data was replaced or restored from a backup");
      await expect.text(notice, 'Changes waiting to be sent were kept.');
      await shot('sync-started-over');
      await notice.getByRole('button', { name: 'Dismiss' }).focus();
      await page.keyboard.press('Enter');
      await expect.hidden(notice);
      // The data it synced is shown as usual.
      await expect.text(page.getByRole('region', { name: 'Total' }), '2,300');
    },
  },
  {
    name: 'sync progress shows phase and n / total',
    scenario: { syncing: true },
    async run({ page, shot, expect }) {
      await expect.text(page.getByRole('contentinfo'), 'Changes 1,400 / 2,800');
      await expect.visible(page.getByRole('meter', { name: 'Syncing' }));
      await emit(page, 'sync://progress', { phase: 'changes', done: 2100, total: 2800, full: true });
      await expect.text(page.getByRole('contentinfo'), 'Changes 2,100 / 2,800');
      await shot('syncing');
    },
  },
  {
    name: 'dark theme from the OS',
    scenario: { theme: 'system', colorScheme: 'dark' },
    async run({ page, shot, expect }) {
      await expect.text(page.getByRole('region', { name: 'Total' }), '2,300');
      await shot('products-dark');
      await nav(page, 'License Management');
      await expect.visible(page.getByRole('img', { name: 'Codes consumed per month' }));
      await shot('licenses-dark');
      await nav(page, 'Gateway License');
      await expect.visible(page.getByRole('region', { name: 'This machine' }));
      await shot('gateway-dark');
    },
  },
  {
    name: 'field kit: allotment, drop request files, per-gateway results, typed fingerprint, reconcile',
    async run({ page, shot, expect }) {
      await nav(page, 'Field Kit');
      const card = page.getByRole('region', { name: 'Allotment' });
      await expect.text(card.getByTestId('remaining'), '2 / 5');
      await expect.text(card.getByTestId('expiry'), 'Expires in 6 days');
      const table = page.getByRole('table', { name: 'Issued licenses' });
      await expect.count(table.locator('tbody tr'), (n) => n === 3, 'issued rows');
      await expect.text(table.locator('tbody tr').nth(0), 'Reconciled');
      await expect.text(table.locator('tbody tr').nth(1), 'Conflict');
      await expect.text(table.locator('tbody tr').nth(1), 'HARDWARE_ALREADY_ACTIVATED');
      await expect.text(table.locator('tbody tr').nth(2), 'Pending sync');
      // Keyboard: the table's scrolling box takes the focus (so arrows scroll
      // it), with a visible ring.
      const scroller = page.getByRole('group', { name: 'Issued licenses' });
      // From the fingerprint field, past Issue (disabled while it is empty).
      await page.getByLabel('Gateway fingerprint').focus();
      await page.keyboard.press('Tab');
      expect.true(await scroller.evaluate((el) => el === document.activeElement), 'Tab did not reach the issued licenses');
      const ring = await scroller.evaluate((el) => getComputedStyle(el).outlineStyle);
      expect.true(ring !== 'none', `issued licenses focus outline is ${ring}`);
      // A request file of three gateways dropped on the window: two issued, the third refused.
      await emit(page, 'tauri://drag-enter', { paths: ['/home/me/site-a.json'], position: { x: 10, y: 10 } });
      const overlay = page.getByRole('dialog', { name: 'Drop request files to issue licenses' });
      await expect.visible(overlay);
      await emit(page, 'tauri://drag-drop', { paths: ['/home/me/site-a.json'], position: { x: 10, y: 10 } });
      await expect.hidden(overlay);
      const results = page.getByRole('region', { name: 'Result per gateway' });
      await expect.count(results.locator('li'), (n) => n === 3, 'gateway results');
      await expect.text(results.locator('li').nth(0), 'Issued');
      await expect.text(results.locator('li').nth(2), 'Refused');
      await expect.text(results.locator('li').nth(2), 'LEDGER_ALLOTMENT_EXHAUSTED');
      await expect.text(results.locator('li').nth(2).locator('strong'), 'Allotment used up');
      await expect.text(results.getByTestId('out-dir'), '/home/me/LicenseDesk/field/');
      await expect.text(card.getByTestId('remaining'), '0 / 5');
      await expect.count(table.locator('tbody tr'), (n) => n === 5, 'issued rows after the drop');
      await shot('field-kit');
      await results.scrollIntoViewIfNeeded();
      await shot('field-kit-results');
      // A typed fingerprint of a gateway already licensed is re-issued.
      await page.getByLabel('Gateway fingerprint').fill('0P4P-1543-6RC7-E764U');
      await page.getByRole('button', { name: 'Issue', exact: true }).click();
      await expect.text(results.locator('li').nth(0), 'Re-issued');
      // Reconcile: every pending row becomes reconciled.
      await page.getByRole('button', { name: 'Reconcile' }).click();
      await expect.text(page.getByRole('status').filter({ hasText: 'Reconciled:' }).first(), '3 newly consumed');
      await expect.count(table.getByText('Pending sync'), (n) => n === 0, 'pending rows after reconcile');
      // The server's own audit log, beside the local list.
      await page.getByTestId('audit').locator('summary').click();
      const audit = page.getByRole('list', { name: 'Server audit log' });
      // Newest first.
      await expect.text(audit.locator('li').nth(0), 'Reconcile');
      await expect.text(audit.locator('li').nth(1), 'Checkout');
    },
  },
  {
    name: 'field kit: empty kit says what to do, checkout offline is disabled',
    scenario: { emptyFieldKit: true, offline: true },
    async run({ page, shot, expect }) {
      await nav(page, 'Field Kit');
      await expect.visible(page.getByRole('heading', { name: 'No allotment yet' }));
      await expect.visible(page.getByTestId('field-offline'));
      await page.getByLabel('Order number').fill('ORD-2025-0001');
      expect.true(await page.getByRole('button', { name: 'Check out', exact: true }).isDisabled(), 'checkout enabled offline');
      await shot('field-kit-empty-offline');
    },
  },
  {
    name: 'field kit: an unknown order in zh-CN → an error toast titled and worded in Chinese',
    scenario: { emptyFieldKit: true, language: 'zh-CN' },
    async run({ page, shot, expect }) {
      await page.getByRole('navigation').getByRole('button', { name: '现场工具包', exact: true }).click();
      await page.getByLabel('订单号').fill('ORD-2025-9999');
      await page.getByRole('button', { name: '领取', exact: true }).click();
      const toast = page.locator('.toasts [role="alert"][data-code="NOT_FOUND"]');
      await expect.text(toast.locator('strong'), '未找到');
      await expect.text(toast, '未找到：请先同步，或检查名称');
      await shot('toast-error-zh');
    },
  },
  {
    name: 'field kit in zh-CN: a refused gateway is titled and worded in Chinese, its code on hover',
    scenario: { language: 'zh-CN' },
    async run({ page, shot, expect }) {
      await page.getByRole('navigation').getByRole('button', { name: '现场工具包', exact: true }).click();
      await expect.visible(page.getByRole('region', { name: '配额' }));
      await emit(page, 'tauri://drag-drop', { paths: ['/home/me/site-a.json'], position: { x: 10, y: 10 } });
      const results = page.getByRole('region', { name: '各网关结果' });
      await expect.count(results.locator('li'), (n) => n === 3, 'gateway results');
      const refused = results.locator('li').nth(2);
      await expect.text(refused, '已拒绝');
      await expect.text(refused.locator('[data-code="LEDGER_ALLOTMENT_EXHAUSTED"] strong'), '配额已用完');
      await expect.text(refused, '配额已用完：请签出新的配额');
      await expect.attr(refused.locator('[data-code]'), 'title', 'LEDGER_ALLOTMENT_EXHAUSTED');
      await results.scrollIntoViewIfNeeded();
      await shot('field-kit-results-zh');
    },
  },
  {
    name: 'field kit: check out by product with the keyboard, the allotment shows its scope',
    scenario: { emptyFieldKit: true },
    async run({ page, shot, expect }) {
      await nav(page, 'Field Kit');
      await expect.visible(page.getByRole('heading', { name: 'No allotment yet' }));
      const from = page.getByRole('radiogroup', { name: 'Check out from' });
      // Keyboard only: focus the checked radio, arrow to Product, Tab on.
      await from.getByRole('radio', { name: 'Order' }).focus();
      await page.keyboard.press('ArrowRight');
      expect.true(await from.getByRole('radio', { name: 'Product' }).isChecked(), 'Product chosen with the arrow key');
      const outline = await page.evaluate(() => getComputedStyle(document.activeElement.closest('label')).outlineStyle);
      expect.true(outline !== 'none', `radio focus outline is ${outline}`);
      await page.keyboard.press('Tab');
      const label = await page.evaluate(() => document.activeElement?.closest('label')?.textContent?.trim());
      expect.true(label?.startsWith('Gateway product'), `focused ${label}`);
      await expect.text(page.getByTestId('product-hint'), 'oldest first');
      await page.keyboard.type('edge-gateway-pro');
      await page.getByLabel('Licenses').fill('8');
      await page.getByLabel('Licenses').press('Enter');
      const card = page.getByRole('region', { name: 'Allotment' });
      await expect.visible(card.getByRole('heading', { name: 'Product edge-gateway-pro' }));
      await expect.text(card.getByTestId('remaining'), '8 / 8');
      const scope = card.getByRole('group', { name: 'Scope' });
      await expect.text(scope, 'Hangzhou Smart Meters Co.');
      await expect.text(scope, 'modbus-tcp');
      await expect.text(scope, 'up to 200 connections · 2,000 data tags · each license valid 365 days');
      expect.true(!(await scope.textContent()).includes('opcua'), 'opcua is not granted by every order');
      await expect.text(page.getByRole('status').filter({ hasText: 'Checked out' }).first(), 'Checked out 8 licenses of product edge-gateway-pro');
      await shot('field-kit-product');
      await page.getByTestId('audit').locator('summary').click();
      const audit = page.getByRole('list', { name: 'Server audit log' });
      await expect.text(audit.locator('li').nth(0), '8 licenses of product edge-gateway-pro (ORD-2025-0001 × 7, ORD-2025-0004 × 1)');
      // Back to Order: the field asks for an order number again.
      await from.getByRole('radio', { name: 'Product' }).focus();
      await page.keyboard.press('ArrowLeft');
      await expect.visible(page.getByLabel('Order number'));
    },
  },
  {
    name: 'keyboard: sidebar reachable with Tab, visible focus',
    async run({ page, expect }) {
      await expect.visible(page.getByRole('region', { name: 'Total' }));
      for (let i = 0; i < 12; i++) {
        await page.keyboard.press('Tab');
        const label = await page.evaluate(() => document.activeElement?.textContent?.trim());
        if (label === 'Devices') break;
      }
      await page.keyboard.press('Enter');
      await expect.visible(page.getByRole('heading', { name: 'Devices', exact: true }));
      const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
      expect.true(outline !== 'none', `focus outline is ${outline}`);
    },
  },
];

// Accessibility: one axe-core run (WCAG 2 A/AA, see run.mjs) per state of
// every main view, in the light and the dark theme; Products and Gateway in
// zh-CN too. A serious or critical violation fails the journey.
const LIGHT = {};
const DARK = { theme: 'system', colorScheme: 'dark' };
const a11yStates = [
  {
    state: 'products',
    async open(page, expect) {
      await expect.text(page.getByRole('region', { name: 'Total' }), '2,300');
      await expect.visible(page.getByRole('heading', { name: 'Smart Meter S2' }));
    },
  },
  {
    state: 'products, assign dialog',
    async open(page, expect) {
      await page.getByRole('button', { name: 'Assign' }).click();
      await expect.visible(page.getByLabel('How many'));
    },
  },
  {
    state: 'products, billing dialog',
    async open(page, expect) {
      await page.locator('[data-pk="k9x7m2"]').getByRole('button', { name: /^Billing of/ }).click();
      await expect.visible(page.getByRole('dialog', { name: 'Billing · Cold-chain Tracker' }));
      await expect.visible(page.getByRole('table'));
    },
  },
  {
    state: 'license management, charts panel open',
    async open(page, expect) {
      await nav(page, 'License Management');
      await expect.count(page.getByRole('table', { name: 'Consumption details' }).locator('tbody tr[data-index]:not(.pending)'), (n) => n > 10, 'the rows in view');
      await expect.attr(page.getByRole('button', { name: 'Charts' }), 'aria-expanded', 'true');
      await expect.visible(page.getByRole('img', { name: 'Codes consumed per month' }));
    },
  },
  {
    state: 'devices, a device selected',
    async open(page, expect) {
      await nav(page, 'Devices');
      await page.getByRole('button', { name: 'meter-004211' }).click();
      await expect.text(page.getByTestId('quota'), '1,126 / 1,500');
      await expect.visible(page.getByRole('img', { name: 'Messages per day, last 30 days' }));
    },
  },
  {
    state: 'gateway license',
    async open(page, expect) {
      await nav(page, 'Gateway License');
      await expect.text(page.getByRole('region', { name: 'This machine' }), '3,120 / 5,000');
    },
  },
  {
    state: 'field kit',
    async open(page, expect) {
      await nav(page, 'Field Kit');
      await expect.count(page.getByRole('table', { name: 'Issued licenses' }).locator('tbody tr'), (n) => n === 3, 'issued rows');
    },
  },
  {
    state: 'all accounts',
    async open(page, expect) {
      await nav(page, 'All accounts');
      await expect.visible(page.getByRole('article', { name: 'Frankfurt' }));
    },
  },
  {
    state: 'alerts, notifications open',
    async open(page, expect) {
      await nav(page, 'Alerts');
      await expect.count(page.getByTestId('alert'), (n) => n === 2, 'raised alerts');
      await page.getByText(/Notifications sent/).click();
      await expect.visible(page.getByTestId('notification').first());
    },
  },
  {
    state: 'settings',
    async open(page, expect) {
      await nav(page, 'Settings');
      await expect.visible(page.getByRole('heading', { name: 'Settings', exact: true }));
    },
  },
  {
    state: 'status bar, sync error panel open',
    scenario: { offline: true },
    async open(page, expect) {
      await page.getByTestId('sync-error').click();
      await expect.text(page.getByRole('dialog', { name: 'Server unreachable' }), 'SERVER_UNREACHABLE');
    },
  },
  {
    state: 'status bar, outbox panel open',
    scenario: { offline: true },
    async open(page, expect) {
      await page.getByRole('button', { name: /2 pending/ }).click();
      await expect.text(page.getByRole('dialog', { name: 'Outbox' }), 'ASSIGN_COUNT_EXCEEDS_AVAILABLE');
    },
  },
];
const a11yZh = [
  {
    state: 'products in zh-CN',
    async open(page, expect) {
      await expect.text(page.getByRole('region', { name: '总数' }), '2,300');
    },
  },
  {
    state: 'alerts in zh-CN',
    async open(page, expect) {
      await page.getByRole('navigation').getByRole('button', { name: '告警', exact: false }).click();
      await expect.count(page.getByTestId('alert'), (n) => n === 2, 'raised alerts');
    },
  },
  {
    state: 'gateway license in zh-CN',
    async open(page, expect) {
      await page.getByRole('navigation').getByRole('button', { name: '网关许可证', exact: true }).click();
      await expect.text(page.getByRole('region', { name: '本机' }), '3,120 / 5,000');
    },
  },
];
for (const [theme, base] of [['light', LIGHT], ['dark', DARK]]) {
  const states = [...a11yStates, ...a11yZh.map((s) => ({ ...s, scenario: { language: 'zh-CN' } }))];
  for (const { state, scenario, open } of states) {
    tests.push({
      name: `a11y (${theme}): ${state}`,
      scenario: { ...base, ...scenario },
      async run({ page, shot, expect, axe }) {
        await open(page, expect);
        await axe(`${state}, ${theme}`);
        await shot(`a11y-${theme}-${state.replace(/\W+/g, '-')}`);
      },
    });
  }
}

