// e2e_vm_list.mjs - the browser walk's checks of the VM list (/vms): every
// VM the operator sees, sorted by a column, narrowed by the start of a name
// (?q=), only the rows in view in the DOM. Called from e2e.mjs with its
// helpers; the 10,000-row figures are bench/ui's.
export async function vmListWalk(walk, { check, assert, apiAs, ADMIN, axe, shot }) {
  const { page } = walk;
  const all = await apiAs(ADMIN, 'GET', '/api/v1/vms?project=dev&limit=1000&fields=name');
  const names = all.data.items.map((v) => v.name);
  await check(`${walk.label}: the VM list shows every VM of dev, in name order, one 36 px row each`, async () => {
    const menu = page.locator('.menu-button');
    if (await menu.isVisible()) await menu.click();
    await page.click('nav a[href="/vms"]');
    await page.waitForSelector(`[data-testid=vm-list][data-count="${names.length}"]`, { timeout: 20000 });
    const shown = await page.locator('[data-testid=vm-list] tr.vrow td:first-child').allInnerTexts();
    const rows = await page.evaluate(() => document.querySelector('[data-testid=vm-list] table').getAttribute('aria-rowcount'));
    assert(Number(rows) === names.length + 1, `aria-rowcount ${rows} for ${names.length} VMs`);
    assert(shown.join(',') === names.slice(0, shown.length).join(','), 'not in name order: ' + shown.slice(0, 5).join(','));
    // The window is placed by arithmetic on a fixed row height: a row of
    // another height (a cell wrapping) would show the wrong rows.
    const heights = await page.locator('[data-testid=vm-list] tr.vrow').evaluateAll((rs) => rs.map((r) => Math.round(r.getBoundingClientRect().height)));
    assert(heights.every((h) => h === 36), 'rows are not 36 px tall: ' + heights.slice(0, 8).join(','));
  });
  await shot(walk, 'vm-list');
  // A chunk's stylesheet whose request is dropped (CI saw one lost to an
  // interface change) is fetched again: the list is styled, and no failed
  // sheet is left behind (one whose rules cannot be read).
  await check(`${walk.label}: the VM list is styled even when its stylesheet's first request fails`, async () => {
    const session = await page.evaluate(() => sessionStorage.getItem('vdc.session'));
    const other = await walk.ctx.newPage();
    try {
      await other.addInitScript((s) => sessionStorage.setItem('vdc.session', s), session);
      let dropped = 0;
      await other.route(/\/assets\/vm_list-[^/]*\.css$/, (route) => (dropped++ === 0 ? route.abort('failed') : route.continue()));
      await other.goto(new URL('/vms', page.url()).href);
      await other.waitForSelector(`[data-testid=vm-list][data-count="${names.length}"]`, { timeout: 20000 });
      await other.waitForFunction(() => [...document.querySelectorAll('link[rel=stylesheet]')].every((l) => l.sheet), null, { timeout: 10000 });
      assert(dropped >= 2, `the stylesheet was requested ${dropped} time(s), not again after the drop`);
      const unreadable = await other.evaluate(() => [...document.styleSheets].filter((s) => { try { return !s.cssRules; } catch { return true; } }).map((s) => s.href));
      assert(unreadable.length === 0, 'sheets that failed are still in the page: ' + unreadable.join(', '));
      const h = await other.locator('[data-testid=vm-list] tr.vrow').first().evaluate((r) => Math.round(r.getBoundingClientRect().height));
      assert(h === 36, `a row is ${h} px tall: the list's stylesheet is not applied`);
    } finally {
      await other.close();
    }
  });
  await axe(walk, 'the VM list');
  await check(`${walk.label}: a second click on Name (sorted by name already) lists them in reverse`, async () => {
    await page.click('[data-testid=sort-name]');
    await page.waitForSelector('th[aria-sort=descending] [data-testid=sort-name]');
    const first = await page.locator('[data-testid=vm-list] tr.vrow td:first-child').first().innerText();
    const last = [...names].sort().reverse()[0];
    assert(first === last, `first row ${first}, not ${last}`);
  });
  await check(`${walk.label}: sorting by state puts running before stopped`, async () => {
    await page.click('[data-testid=sort-state]');
    await page.waitForSelector('th[aria-sort=ascending] [data-testid=sort-state]');
    const states = await page.locator('[data-testid=vm-list] tr.vrow td:nth-child(2)').allInnerTexts();
    assert(states.join() === [...states].sort().join(), 'not sorted by state: ' + states.slice(0, 6).join(','));
  });
  await check(`${walk.label}: the filter lists the VMs whose name starts with it (?q=)`, async () => {
    await page.fill('#vm-filter', 'bulk-1');
    await page.click('form[role=search] button[type=submit]');
    const want = names.filter((n) => n.startsWith('bulk-1'));
    await page.waitForSelector(`[data-testid=vm-list][data-count="${want.length}"]`, { timeout: 20000 });
    assert(page.url().endsWith('/vms?q=bulk-1'), 'the filter is not in the address: ' + page.url());
    const shown = await page.locator('[data-testid=vm-list] tr.vrow td:first-child').allInnerTexts();
    assert(shown.every((n) => n.startsWith('bulk-1')) && shown.length === Math.min(want.length, shown.length), shown.join(','));
  });
}
