// e2e_clusters.mjs - the browser walk's checks of the Clusters page
// (/clusters): an administrator creates, edits (PATCH) and deletes a
// cluster, each seen by the API; a bad ratio, a CPU baseline the host does
// not offer and a cluster with a host (409 in_use) are refused on the page; changes made elsewhere show without
// a reload; at phone size it fits and Edit is reachable; a viewer sees the
// clusters without any control. Called from e2e.mjs with its helpers.

async function openClusters(page) {
  const menu = page.locator('.menu-button');
  if (await menu.isVisible()) await menu.click();
  await page.click('nav a[href="/clusters"]');
  await page.waitForSelector('[data-testid=cluster-table] tr[data-cluster=c1]', { timeout: 10000 });
}

export async function clustersAdminWalk(walk, { check, assert, apiAs, ADMIN, axe, shot }) {
  const { page } = walk;
  const t0 = Date.now();
  const row = (name) => `[data-testid=cluster-table] tr[data-cluster="${name}"]`;
  // The refusals below are answers the page shows; the browser logs them.
  walk.allowStatus = /status of (400|409)/;
  await check(`${walk.label}: the Clusters page lists c1 with its host, ratios and policy`, async () => {
    await openClusters(page);
    await page.waitForSelector(`${row('c1')} [data-testid=hosts]:text-is("1")`, { timeout: 10000 });
    assert(await page.locator(`${row('c1')} [data-testid=cpu]`).innerText() === '16', 'c1 cpu_overcommit is not 16');
  });
  await check(`${walk.label}: an administrator creates a cluster in the browser; the API has it`, async () => {
    await page.fill('#cc-name', 'ui-c2');
    await page.fill('#cc-cpu', '2');
    await page.selectOption('#cc-policy', 'spread');
    await page.click('[data-testid=cluster-create] button[type=submit]');
    await page.waitForSelector(row('ui-c2'), { timeout: 10000 });
    const r = await apiAs(ADMIN, 'GET', '/api/v1/clusters/ui-c2');
    assert(r.status === 200 && r.data.cpu_overcommit === 2 && r.data.mem_overcommit === 1 && r.data.policy === 'spread',
      'the API has ' + JSON.stringify(r.data));
  });
  await check(`${walk.label}: editing it sends a PATCH; the API has the new ratios, policy and description`, async () => {
    await page.click(`${row('ui-c2')} button:has-text("Edit")`);
    await page.fill('#ce-cpu', '8');
    await page.fill('#ce-mem', '1.5');
    await page.selectOption('#ce-policy', 'pack');
    await page.fill('#ce-desc', 'edited in the browser');
    await page.click('[data-testid=cluster-edit] button[type=submit]');
    await page.waitForSelector(`${row('ui-c2')} [data-testid=cpu]:text-is("8")`, { timeout: 10000 });
    const r = await apiAs(ADMIN, 'GET', '/api/v1/clusters/ui-c2');
    assert(r.data.cpu_overcommit === 8 && r.data.mem_overcommit === 1.5 && r.data.policy === 'pack' &&
      r.data.description === 'edited in the browser' && r.data.version === 2, 'the API has ' + JSON.stringify(r.data));
  });
  await check(`${walk.label}: a ratio out of bounds is refused on the page, naming it, and changes nothing`, async () => {
    await page.click(`${row('ui-c2')} button:has-text("Edit")`);
    await page.fill('#ce-cpu', '100');
    await page.click('[data-testid=cluster-edit] button[type=submit]');
    await page.waitForSelector('.error[role=alert]:has-text("cpu_overcommit")', { timeout: 10000 });
    await page.click('[data-testid=cluster-edit] button:has-text("Cancel")');
    const r = await apiAs(ADMIN, 'GET', '/api/v1/clusters/ui-c2');
    assert(r.data.cpu_overcommit === 8 && r.data.version === 2, 'the API has ' + JSON.stringify(r.data));
  });
  await check(`${walk.label}: a CPU baseline c1's host does not offer is refused on the page, naming the host, and changes nothing`, async () => {
    await page.click(`${row('c1')} button:has-text("Edit")`);
    await page.fill('#ce-cpubase', 'NoSuchCPU-v9');
    await page.click('[data-testid=cluster-edit] button[type=submit]');
    await page.waitForSelector('.error[role=alert]:has-text("is not offered by 1 host")', { timeout: 10000 });
    await page.click('[data-testid=cluster-edit] button:has-text("Cancel")');
    const r = await apiAs(ADMIN, 'GET', '/api/v1/clusters/c1');
    assert(!r.data.cpu_baseline, 'the API has ' + JSON.stringify(r.data));
  });
  await shot(walk, 'clusters');
  await axe(walk, 'the Clusters page');
  await check(`${walk.label}: deleting a cluster with a host asks first, then shows vdcd's 409 in_use plainly`, async () => {
    await page.click(`${row('c1')} button:has-text("Delete")`);
    await page.waitForSelector('dialog[open]');
    await page.click('dialog[open] [data-testid=confirm]');
    await page.waitForSelector('.error[role=alert]:has-text("Cannot delete: cluster \'c1\' is used by 1 hosts")', { timeout: 10000 });
    assert((await apiAs(ADMIN, 'GET', '/api/v1/clusters/c1')).status === 200, 'c1 is gone');
  });
  await check(`${walk.label}: an empty cluster is deleted after the confirmation; the API no longer has it`, async () => {
    await page.click(`${row('ui-c2')} button:has-text("Delete")`);
    await page.waitForSelector('dialog[open]');
    await page.click('dialog[open] [data-testid=confirm]');
    await page.waitForSelector(row('ui-c2'), { state: 'detached', timeout: 10000 });
    const r = await apiAs(ADMIN, 'GET', '/api/v1/clusters/ui-c2');
    assert(r.status === 404, 'ui-c2 is still there: ' + r.status);
  });
  await check(`${walk.label}: clusters made, changed and deleted through the API show on the open page without a reload`, async () => {
    await page.evaluate(() => { window.vdcClustersMark = 1; });
    const c = await apiAs(ADMIN, 'POST', '/api/v1/clusters', { name: 'ui-c3', cpu_overcommit: 3 });
    assert(c.status === 201, 'create: ' + c.status);
    await page.waitForSelector(`${row('ui-c3')} [data-testid=cpu]:text-is("3")`, { timeout: 10000 });
    const u = await apiAs(ADMIN, 'PATCH', '/api/v1/clusters/ui-c3', { cpu_overcommit: 5 });
    assert(u.status === 200, 'patch: ' + u.status);
    await page.waitForSelector(`${row('ui-c3')} [data-testid=cpu]:text-is("5")`, { timeout: 10000 });
    const d = await apiAs(ADMIN, 'DELETE', '/api/v1/clusters/ui-c3');
    assert(d.status === 204 || d.status === 200, 'delete: ' + d.status);
    await page.waitForSelector(row('ui-c3'), { state: 'detached', timeout: 10000 });
    assert(await page.evaluate(() => window.vdcClustersMark === 1), 'the page was reloaded');
  });
  await check(`${walk.label}: at phone size the Clusters page fits the screen and a cluster's Edit is reachable`, async () => {
    const was = page.viewportSize();
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await openClusters(page);
      const w = await page.evaluate(() => document.documentElement.scrollWidth);
      assert(w <= 390, 'the page is ' + w + ' px wide');
      await page.click(`${row('c1')} button:has-text("Edit")`);
      const form = await page.waitForSelector('[data-testid=cluster-edit]', { timeout: 5000 });
      const box = await form.boundingBox();
      assert(box && box.x >= 0 && box.x + box.width <= 391, 'the edit form is at ' + JSON.stringify(box));
      await page.locator('#ce-cpu').scrollIntoViewIfNeeded();
      assert(await page.locator('#ce-cpu').isVisible(), 'the edit form has no visible cpu field');
      await shot(walk, 'phone-clusters');
      await page.click('[data-testid=cluster-edit] button:has-text("Cancel")');
    } finally {
      await page.setViewportSize(was);
    }
  });
  walk.allowStatus = null;
  console.log(`# ${walk.label}: the Clusters walk took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

export async function clustersViewerWalk(walk, { check, assert, apiAs }) {
  const { page } = walk;
  const t0 = Date.now();
  await check(`${walk.label}: the Clusters page shows the clusters with no control to change them`, async () => {
    await openClusters(page);
    for (const sel of ['[data-testid=cluster-create]', '[data-testid=cluster-table] button', '[data-testid=hosts]']) {
      assert(await page.locator(sel).count() === 0, sel + ' is shown');
    }
  });
  await check(`${walk.label}: the API refuses a viewer's cluster edit (403)`, async () => {
    const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('vdc.session')).token);
    const r = await apiAs(token, 'PATCH', '/api/v1/clusters/c1', { cpu_overcommit: 64 });
    assert(r.status === 403, 'PATCH by a viewer: ' + r.status);
  });
  console.log(`# ${walk.label}: the Clusters page took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
