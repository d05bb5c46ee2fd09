/**
 * The live dashboard with a big pool: 10,000 sessions, a few rounds of random outcomes and retirements, then the
 * pool sits still so you can click around. Run: `npx tsx examples/dashboard-10k.ts [sessions] [rounds]`.
 * Ctrl-C quits.
 */
import { startDashboard } from '../src/dashboard/server.js';
import { SessionPool } from '../src/session-pool.js';

const sessionCount = Number(process.argv[2] ?? 10_000);
const rounds = Number(process.argv[3] ?? 20);

const pool = await SessionPool.open({ maxPoolSize: sessionCount, sessionOptions: { maxUsageCount: 1_000 } });
const dashboard = await startDashboard(pool, { title: `${sessionCount} sessions` });
console.log(`Dashboard: ${dashboard.url}`);
for (let i = 0; i < sessionCount; i += 1) await pool.getSession();
console.log(`${pool.sessionsCount} sessions created`);

// A seeded stream keeps runs comparable.
let seed = 7;
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
};
for (let round = 0; round < rounds; round += 1) {
  const sessions = [...pool.sessions()];
  for (const session of sessions) {
    const roll = random();
    if (roll < 0.1) session.markBad();
    else if (roll < 0.5) session.markGood();
    else if (roll < 0.505) session.retire();
  }
  await new Promise((resolve) => setTimeout(resolve, 150));
}
console.log(`churn done: ${pool.retiredSessionsCount} retired, ${pool.sessionsCount} alive`);

// Tearing down 10,000 actors one by one is slow in XState; the process is ending anyway.
process.on('SIGINT', () => {
  dashboard.close().finally(() => process.exit(0));
});
