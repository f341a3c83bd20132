// e2e_vm_facts.mjs - the browser walk's checks of placement's verdict
// before create (a dry run: shown, nothing made) and of the VM page's facts
// (why its host, its last exit). Called from e2e.mjs with its helpers.

// On the create page with the form filled (by an operator, who is no
// administrator): "Check placement" shows the verdict, marked a dry run,
// without naming host h (hosts are the administrators'), and vdcd has no
// VM of that name.
export async function dryRunVerdict(walk, name, h, { check, assert, apiAs, ADMIN }) {
  const { page } = walk;
  return check(`${walk.label}: "Check placement" shows placement's verdict before create without host names, and creates nothing`, async () => {
    await page.click('[data-testid=create-check]');
    await page.waitForSelector('[data-testid=placement][data-dry-run=true]:has-text("a host fits")', { timeout: 30000 });
    await page.waitForSelector('[data-testid=dry-run-note]');
    await page.waitForSelector('[data-testid=hosts-hidden]');
    const text = await page.locator('[data-testid=placement]').innerText();
    assert(!text.includes(h), `the operator's dry run names host ${h}: ${text}`);
    const r = await apiAs(ADMIN, 'GET', '/api/v1/vms/' + name + '?project=dev');
    assert(r.status === 404, `a dry run made VM ${name} (${r.status})`);
  });
}

// On the VM page: placement's reason for its host.
export async function placementFacts(walk, { check }) {
  const { page } = walk;
  return check(`${walk.label}: the VM's summary shows why placement chose its host`, async () => {
    await page.waitForSelector('[data-testid=placement-facts]:has-text("Why this host: chosen")', { timeout: 10000 });
  });
}

// On the VM page after a stop: the last exit says it was asked for (the
// guest complying, or not in time: "stopped" or "stopped_forced").
export async function lastExitStopped(walk, { check }) {
  const { page } = walk;
  return check(`${walk.label}: after a stop the VM's summary shows its last exit: stopped on request`, async () => {
    await page.waitForSelector('[data-testid=last-exit]:has-text("Stopped on request")', { timeout: 20000 });
  });
}
