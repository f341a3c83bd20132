// e2e_pools.mjs - the browser walk's checks of resource pools: an
// administrator opens cluster c1's pools page from the Clusters page,
// creates pool gold (512 MiB reserved, not expandable) and web under it
// (drawn indented under gold), edits gold (a PATCH of what changed only;
// a limit set, then cleared as null), and sees vdcd's refusals on the page:
// a child reserving more than gold can give (naming gold) and a delete of
// gold while web is in it; deletes web after the confirmation; a pool made
// and deleted through the API shows without a reload; the page fits a
// phone; a VM moves into gold on its page (the task followed), shows under
// gold in the inventory tree, and moves back to the cluster's root. Every step is checked against the
// API. Called from e2e.mjs with its helpers, after the Clusters walk.

const row = (name) => `[data-testid=pool-table] tr[data-pool="${name}"]`;
const VM = 'shown-to-viewer'; // a stopped VM of c1 (tests/integration/t_ui.sh)

async function openPools(page) {
  const menu = page.locator('.menu-button');
  if (await menu.isVisible()) await menu.click();
  await page.click('nav a[href="/clusters"]');
  await page.click('[data-testid=cluster-table] tr[data-cluster=c1] [data-testid=pools-link]');
  await page.waitForSelector('h1:has-text("Resource pools of c1")', { timeout: 10000 });
  await page.waitForSelector('[data-testid=pool-capacity]', { timeout: 10000 });
}

async function submitCreate(page, name, fill) {
  await page.fill('#pc-name', name);
  await fill();
  await page.click('[data-testid=pool-create] button[type=submit]');
}

// The VM's page, through the search box (as a user finds it).
async function openVm(page) {
  await page.fill('#search', VM.slice(0, 8));
  await page.click(`.search-results a:has-text("${VM}")`);
  await page.waitForSelector('[data-testid=vm-pool]', { timeout: 10000 });
}

export async function poolsWalk(walk, { check, assert, apiAs, ADMIN, axe, shot }) {
  const { page } = walk;
  const t0 = Date.now();
  const pool = async (name) => apiAs(ADMIN, 'GET', '/api/v1/pools/' + name);
  // The refusals below are answers the page shows; the browser logs them.
  walk.allowStatus = /status of (400|409)/;
  let gold = null;
  try {
    await check(`${walk.label}: the Clusters page links c1's resource pools; the page shows c1's capacity and no pool yet`, async () => {
      await openPools(page);
      await page.waitForSelector('text=No pools yet', { timeout: 10000 });
      const cap = await page.locator('[data-testid=pool-capacity]').innerText();
      assert(/CPU reserved/.test(cap) && /Memory reserved/.test(cap), 'the capacity says ' + cap);
    });
    await check(`${walk.label}: pool gold is created in the browser (512 MiB reserved, not expandable); the API has it`, async () => {
      await submitCreate(page, 'gold', async () => {
        await page.fill('#pc-mem_reservation_mib', '512');
        await page.uncheck('#pc-expandable');
      });
      await page.waitForSelector(`${row('gold')}[data-depth="0"] [data-testid=expandable]:text-is("no")`, { timeout: 10000 });
      const r = await pool('gold');
      gold = r.data;
      assert(r.status === 200 && r.data.mem_reservation_mib === 512 && r.data.expandable === false &&
        r.data.cpu_shares === 100 && !r.data.parent_id && r.data.mem_limit_mib === undefined, 'the API has ' + JSON.stringify(r.data));
    });
    await check(`${walk.label}: pool web is created under gold and drawn indented under it`, async () => {
      await submitCreate(page, 'web', () => page.selectOption('#pc-parent', { label: 'gold' }));
      await page.waitForSelector(`${row('web')}[data-depth="1"]`, { timeout: 10000 });
      const order = await page.locator('[data-testid=pool-table] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.pool));
      assert(order.indexOf('web') === order.indexOf('gold') + 1, 'the rows are ' + order.join(', '));
      const pad = (name) => page.locator(`${row(name)} td.pool-name`).evaluate((td) => parseFloat(getComputedStyle(td).paddingLeft));
      const [pg, pw] = [await pad('gold'), await pad('web')];
      assert(pw > pg + 10, `web is not indented under gold (${pw} px against ${pg} px)`);
      const r = await pool('web');
      assert(r.status === 200 && gold && r.data.parent_id === gold.id, 'the API has ' + JSON.stringify(r.data));
    });
    await shot(walk, 'pools');
    await axe(walk, 'the resource pools page');
    await check(`${walk.label}: editing gold's shares to 300 sends a PATCH of the shares alone; the page and the API have 300`, async () => {
      const sent = [];
      const seen = (rq) => { if (rq.method() === 'PATCH' && /\/api\/v1\/pools\//.test(rq.url())) sent.push(rq.postData()); };
      page.on('request', seen);
      try {
        await page.click(`${row('gold')} button:has-text("Edit")`);
        await page.fill('#pe-cpu_shares', '300');
        await page.click('[data-testid=pool-edit] button[type=submit]');
        await page.waitForSelector(`${row('gold')} [data-testid=shares]:text-is("300")`, { timeout: 10000 });
      } finally {
        page.off('request', seen);
      }
      assert(sent.length === 1 && JSON.stringify(JSON.parse(sent[0])) === '{"cpu_shares":300}', 'the PATCH bodies were ' + sent.join(' | '));
      const r = await pool('gold');
      assert(r.data.cpu_shares === 300 && r.data.mem_reservation_mib === 512 && r.data.expandable === false && r.data.version === 2,
        'the API has ' + JSON.stringify(r.data));
    });
    await check(`${walk.label}: a memory limit set on gold, then cleared (sent as null), leaves gold without one`, async () => {
      await page.click(`${row('gold')} button:has-text("Edit")`);
      await page.fill('#pe-mem_limit_mib', '2048');
      await page.click('[data-testid=pool-edit] button[type=submit]');
      await page.waitForSelector(`${row('gold')} [data-testid=mem]:has-text("512 MiB / 2 GiB")`, { timeout: 10000 });
      assert((await pool('gold')).data.mem_limit_mib === 2048, 'the limit is not 2048 in the API');
      await page.click(`${row('gold')} button:has-text("Edit")`);
      await page.fill('#pe-mem_limit_mib', '');
      await page.click('[data-testid=pool-edit] button[type=submit]');
      await page.waitForSelector(`${row('gold')} [data-testid=mem]:has-text("512 MiB / no limit")`, { timeout: 10000 });
      const r = await pool('gold');
      assert(r.data.mem_limit_mib === undefined && r.data.cpu_shares === 300, 'the API has ' + JSON.stringify(r.data));
    });
    await check(`${walk.label}: a child reserving 4096 MiB under gold is refused on the page with vdcd's message naming gold`, async () => {
      await submitCreate(page, 'big', async () => {
        await page.selectOption('#pc-parent', { label: 'gold' });
        await page.fill('#pc-mem_reservation_mib', '4096');
      });
      const msg = await page.waitForSelector('.error[role=alert]:has-text("pool \'gold\'")', { timeout: 10000 });
      console.log('# ' + walk.label + ': refused: ' + (await msg.innerText()));
      assert((await pool('big')).status === 404, 'pool big was made');
      await page.fill('#pc-name', '');
      await page.fill('#pc-mem_reservation_mib', '0');
    });
    await check(`${walk.label}: deleting gold while web is in it asks first, then shows vdcd's 409 in_use`, async () => {
      await page.click(`${row('gold')} button:has-text("Delete")`);
      await page.waitForSelector('dialog[open]');
      await page.click('dialog[open] [data-testid=confirm]');
      await page.waitForSelector('.error[role=alert]:has-text("Cannot delete: pool \'gold\' holds 1 child pool")', { timeout: 10000 });
      assert((await pool('gold')).status === 200, 'gold is gone');
    });
    await check(`${walk.label}: web is deleted after the confirmation; the API no longer has it`, async () => {
      await page.click(`${row('web')} button:has-text("Delete")`);
      await page.waitForSelector('dialog[open]');
      await page.click('dialog[open] [data-testid=confirm]');
      await page.waitForSelector(row('web'), { state: 'detached', timeout: 10000 });
      assert((await pool('web')).status === 404, 'web is still there');
    });
    await check(`${walk.label}: a pool made and deleted through the API shows on the open page without a reload`, async () => {
      await page.evaluate(() => { window.vdcPoolsMark = 1; });
      const c = await apiAs(ADMIN, 'POST', '/api/v1/pools', { name: 'ui-api-pool', cluster: 'c1', parent: 'gold', cpu_shares: 50 });
      assert(c.status === 201, 'create: ' + c.status + ' ' + JSON.stringify(c.data));
      await page.waitForSelector(`${row('ui-api-pool')}[data-depth="1"] [data-testid=shares]:text-is("50")`, { timeout: 10000 });
      const d = await apiAs(ADMIN, 'DELETE', '/api/v1/pools/ui-api-pool');
      assert(d.status === 204, 'delete: ' + d.status);
      await page.waitForSelector(row('ui-api-pool'), { state: 'detached', timeout: 10000 });
      assert(await page.evaluate(() => window.vdcPoolsMark === 1), 'the page was reloaded');
    });
    await check(`${walk.label}: at phone size the pools page fits the screen and gold's Edit is reachable`, async () => {
      const was = page.viewportSize();
      await page.setViewportSize({ width: 390, height: 844 });
      try {
        const w = await page.evaluate(() => document.documentElement.scrollWidth);
        assert(w <= 390, 'the page is ' + w + ' px wide');
        await page.locator(`${row('gold')} button:has-text("Edit")`).scrollIntoViewIfNeeded();
        await page.click(`${row('gold')} button:has-text("Edit")`);
        await page.locator('#pe-cpu_shares').scrollIntoViewIfNeeded();
        assert(await page.locator('#pe-cpu_shares').isVisible(), 'the edit form has no visible shares field');
        await shot(walk, 'phone-pools');
        await page.click('[data-testid=pool-edit] button:has-text("Cancel")');
      } finally {
        await page.setViewportSize(was);
      }
    });
    await check(`${walk.label}: on its page a VM moves into gold (a task, followed to its end); the API has it there`, async () => {
      await openVm(page);
      await page.waitForSelector('[data-testid=vm-pool-current]:has-text("cluster root")', { timeout: 10000 });
      await page.selectOption('#vp-pool', { label: 'gold' });
      await page.click('[data-testid=vm-pool-go]');
      await page.waitForSelector('[data-testid=vm-pool-result]:has-text("now in gold")', { timeout: 60000 });
      await page.waitForSelector('[data-testid=vm-pool-current]:has-text("gold")', { timeout: 10000 });
      const r = await apiAs(ADMIN, 'GET', '/api/v1/vms/' + VM + '?project=dev');
      assert(gold && r.data.pool_id === gold.id, 'the API has pool_id ' + r.data.pool_id);
    });
    await shot(walk, 'vm-pool');
    await axe(walk, 'the VM page with its resource pool');
    await check(`${walk.label}: the inventory tree lists gold under c1's resource pools, with its shares and reservation, and the VM in it`, async () => {
      const menu = page.locator('.menu-button');
      if (await menu.isVisible()) await menu.click();
      await page.click('nav a[href="/"]');
      await page.click('[data-testid=tree-clusters] summary:has-text("c1")');
      await page.click('[data-testid=tree-pools-c1] > summary');
      const label = await page.waitForSelector('[data-testid=tree-pool-gold] > summary', { timeout: 10000 });
      const text = await label.innerText();
      assert(/gold/.test(text) && /shares 300/.test(text) && /512 MiB/.test(text), 'gold\'s branch says ' + text);
      assert(await page.locator('[data-testid=tree-pool-web]').count() === 0, 'web is still in the tree');
      // Its numbers, not its name: the name is a link to the pools page.
      await page.click('[data-testid=tree-pool-gold] > summary .muted');
      await page.waitForSelector(`[data-testid=tree-pool-gold] a:has-text("${VM}")`, { timeout: 10000 });
    });
    await shot(walk, 'tree-pools');
    await check(`${walk.label}: the create form offers gold and a memory reservation; its dry run sends both and vdcd places it`, async () => {
      const menu = page.locator('.menu-button');
      if (await menu.isVisible()) await menu.click();
      await page.click('nav a[href="/vms/new"]');
      await page.fill('#vm-name', 'ui-pool-dry');
      await page.selectOption('#vm-pool', { label: 'gold (c1)' });
      await page.fill('#vm-mem-res', '256');
      const sent = page.waitForRequest((r) => r.url().includes('/api/v1/vms?dry_run=true') && r.method() === 'POST');
      await page.click('[data-testid=create-check]');
      const body = JSON.parse((await sent).postData() || '{}');
      assert(gold && body.pool === gold.id && body.mem_reservation_mib === 256, 'the dry run sent ' + JSON.stringify(body));
      await page.waitForSelector('[data-testid=placement][data-dry-run=true]', { timeout: 10000 });
      const r = await apiAs(ADMIN, 'GET', '/api/v1/vms/ui-pool-dry');
      assert(r.status === 404, 'a dry run made the VM: ' + r.status);
    });
    await check(`${walk.label}: from the tree the VM's page; it moves back to the cluster's root`, async () => {
      await page.click('nav a[href="/"]');
      await page.click('[data-testid=tree-clusters] summary:has-text("c1")');
      await page.click('[data-testid=tree-pools-c1] > summary');
      await page.waitForSelector('[data-testid=tree-pool-gold] > summary', { timeout: 10000 });
      await page.click('[data-testid=tree-pool-gold] > summary .muted');
      await page.click(`[data-testid=tree-pool-gold] a:has-text("${VM}")`);
      await page.waitForSelector('[data-testid=vm-pool-current]:has-text("gold")', { timeout: 10000 });
      await page.selectOption('#vp-pool', { value: '' });
      await page.click('[data-testid=vm-pool-go]');
      await page.waitForSelector('[data-testid=vm-pool-result]:has-text("now in cluster root")', { timeout: 60000 });
      const r = await apiAs(ADMIN, 'GET', '/api/v1/vms/' + VM + '?project=dev');
      assert(!r.data.pool_id, 'the API has pool_id ' + r.data.pool_id);
    });
  } finally {
    // What the walk made goes, whatever failed: the walks after it know
    // nothing of pools.
    const v = await apiAs(ADMIN, 'GET', '/api/v1/vms/' + VM + '?project=dev');
    if (v.data && v.data.pool_id) await apiAs(ADMIN, 'POST', '/api/v1/vms/' + VM + '/pool', { pool: null });
    for (const p of ['ui-api-pool', 'big', 'web', 'gold']) await apiAs(ADMIN, 'DELETE', '/api/v1/pools/' + p);
    walk.allowStatus = null;
  }
  console.log(`# ${walk.label}: the resource pools walk took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
