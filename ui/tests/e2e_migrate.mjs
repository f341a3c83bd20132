// e2e_migrate.mjs - the browser walk's live migration (an administrator on
// the VM page): "Check where it would go" shows every host's verdict with
// the VM's own host as its current one; "Migrate" draws the copy live (a
// chart of bytes left and the dirty rate) and ends saying how long it took
// and paused; the API then has the VM on the other host. The VM (ui-mig)
// runs in cluster "mig" of two hosts sharing a datastore, whose links carry
// 32 MiB/s so that the copy lasts long enough to be drawn.
// Then the VM's new host enters maintenance from its page: "Plan" shows the
// VM going back to the first host with placement's reason, "Enter
// maintenance" shows the drain until it says the host is emptied, and
// "Exit maintenance" returns the host to the pool.
// Then "Move disk" moves the VM's disk from the shared datastore to its
// host's own "fast" one while it runs (storage migration), and a last
// "Migrate" takes the disk along to the other host's "fast".
// Called from e2e.mjs with its helpers.

export async function migrateWalk(walk, { check, assert, apiAs, axe, shot, URL0, env }) {
  const { page } = walk;
  const ADMIN = env('VDC_ADMIN_TOKEN');
  const before = (await apiAs(ADMIN, 'GET', '/api/v1/vms/ui-mig')).data;
  await check(`${walk.label}: on a running VM's page an administrator asks where it would migrate: every host's verdict, its own host "current"`, async () => {
    assert(before && before.power_state === 'running', 'ui-mig is ' + (before && before.power_state));
    await page.goto(URL0 + '/vms/' + before.id);
    await page.waitForSelector('[data-testid=migrate]', { timeout: 20000 });
    await page.click('[data-testid=migrate-check]');
    await page.waitForSelector('[data-testid=migrate-verdicts]:has-text("runs the VM now")', { timeout: 20000 });
    const r = await apiAs(ADMIN, 'GET', '/api/v1/vms/ui-mig');
    assert(r.data.host_id === before.host_id, 'the check moved the VM');
  });
  await axe(walk, 'the VM page with its migration');
  await check(`${walk.label}: "Migrate" draws the copy live, then says how long it took and paused; the API has the VM on the other host`, async () => {
    await page.click('[data-testid=migrate-go]');
    await page.waitForSelector('[data-testid=migrate-chart] canvas', { timeout: 60000 });
    await shot(walk, 'migrate-live');
    await page.waitForSelector('[data-testid=migrate-result]:has-text("Migrated in")', { timeout: 120000 });
    const r = await apiAs(ADMIN, 'GET', '/api/v1/vms/ui-mig');
    assert(r.data.host_id !== before.host_id && r.data.power_state === 'running',
      `the VM is on ${r.data.host_id} (was ${before.host_id}), ${r.data.power_state}`);
  });
  const moved = (await apiAs(ADMIN, 'GET', '/api/v1/vms/ui-mig')).data;
  const first = (await apiAs(ADMIN, 'GET', '/api/v1/hosts/' + before.host_id)).data;
  await check(`${walk.label}: on the VM's host's page "Plan" shows the VM going to the other host, with placement's reason`, async () => {
    await page.goto(URL0 + '/objects/hosts/' + moved.host_id);
    await page.waitForSelector('[data-testid=maintenance]', { timeout: 20000 });
    await page.click('[data-testid=maint-check]');
    await page.waitForSelector(`[data-testid=maint-plan] td:has-text("${first.name}")`, { timeout: 20000 });
    const text = await page.textContent('[data-testid=maint-plan]');
    assert(/ui-mig/.test(text) && /chosen/.test(text), 'the plan says: ' + text);
    const h = (await apiAs(ADMIN, 'GET', '/api/v1/hosts/' + moved.host_id)).data;
    assert(!h.maintenance, 'the plan put the host in maintenance');
  });
  await axe(walk, 'the host page with its maintenance plan');
  await check(`${walk.label}: "Enter maintenance" shows the drain until the host is emptied; "Exit maintenance" returns it to the pool`, async () => {
    await page.click('[data-testid=maint-enter]');
    await page.waitForSelector('[data-testid=maint-progress]', { timeout: 20000 });
    await shot(walk, 'maintenance-drain');
    await page.waitForSelector('[data-testid=maint-result]:has-text("1 of 1")', { timeout: 180000 });
    const h = (await apiAs(ADMIN, 'GET', '/api/v1/hosts/' + moved.host_id)).data;
    const v = (await apiAs(ADMIN, 'GET', '/api/v1/vms/ui-mig')).data;
    assert(h.state === 'maintenance' && h.drain.phase === 'done', `the host is ${h.state}, its drain ${h.drain && h.drain.phase}`);
    assert(v.host_id === before.host_id && v.power_state === 'running', `the VM is on ${v.host_id}, ${v.power_state}`);
    await page.click('[data-testid=maint-exit]');
    await page.waitForSelector('[data-testid=maint-enter]', { timeout: 20000 });
    const back = (await apiAs(ADMIN, 'GET', '/api/v1/hosts/' + moved.host_id)).data;
    assert(back.state === 'connected' && !back.maintenance, 'after exit the host is ' + back.state);
  });
  await check(`${walk.label}: "Move disk" moves the running VM's disk to its host's datastore "fast" and says so; the API agrees`, async () => {
    await page.goto(URL0 + '/vms/' + before.id);
    // A list once the host's datastores are read (an administrator's).
    await page.waitForSelector('select[data-testid=move-disk-to]', { timeout: 20000 });
    await page.selectOption('[data-testid=move-disk-to]', 'fast');
    await page.click('[data-testid=move-disk-go]');
    await page.waitForSelector('[data-testid=move-disk-result]', { timeout: 120000 });
    const text = await page.textContent('[data-testid=move-disk-result]');
    assert(/from shared to fast/.test(text), 'the page says: ' + text);
    const v = (await apiAs(ADMIN, 'GET', '/api/v1/vms/ui-mig')).data;
    assert(v.config.datastore === 'fast' && v.power_state === 'running', `the VM's disk is on ${v.config.datastore}, ${v.power_state}`);
  });
  await axe(walk, 'the VM page after its disk moved');
  await check(`${walk.label}: "Migrate" again, the disk now on its host's own datastore: the page says the disk was copied; the API has the VM on the other host, its disk there`, async () => {
    const v0 = (await apiAs(ADMIN, 'GET', '/api/v1/vms/ui-mig')).data;
    await page.click('[data-testid=migrate-go]');
    await page.waitForSelector('[data-testid=migrate-result]', { timeout: 120000 });
    const text = await page.textContent('[data-testid=migrate-result]');
    assert(/Migrated in/.test(text) && /Copied disks root/.test(text), 'the page says: ' + text);
    const v = (await apiAs(ADMIN, 'GET', '/api/v1/vms/ui-mig')).data;
    assert(v.host_id !== v0.host_id && v.power_state === 'running' && v.config.datastore === 'fast',
      `the VM is on ${v.host_id} (was ${v0.host_id}), ${v.power_state}, datastore ${v.config.datastore}`);
  });
}
