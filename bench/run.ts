/** Runs `count` logins with `concurrency` workers and measures them. Fails on the first failed login. */
import { performance } from 'node:perf_hooks';
import { machineBusyCpuMs } from './proc-cpu.js';

export interface PhaseResult {
  name: string;
  count: number;
  concurrency: number;
  requestsPerLogin: number;
  wallMs: number;
  perSecond: number;
  p50: number;
  p95: number;
  max: number;
  mean: number;
  /** user + system CPU time of this process per login (client, plus the server when in-process) */
  cpuMsPerLogin: number;
  /** share of the phase the main thread's event loop was busy */
  eventLoopUtilization: number;
  /** every login's latency, ascending (ms) */
  latencies: number[];
  /** CPU time of the target server's processes per login (BENCH_TARGET_PID), when known */
  targetCpuMsPerLogin?: number;
  /**
   * CPU used during the phase by everything else on the machine (not this
   * process, not BENCH_TARGET_PID), in cores (1 = one core fully busy): other
   * load makes the numbers unreliable. Linux only.
   */
  otherLoadCores?: number;
}

/** Nearest-rank percentile of an ascending list. */
export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export async function runPhase(o: { name: string; count: number; concurrency: number; login: () => Promise<number>; targetCpuMs?: (() => number) | undefined }): Promise<PhaseResult> {
  const latencies: number[] = [];
  let requests = 0;
  let next = 0;
  let failure: unknown;

  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const target0 = o.targetCpuMs?.();
  const machine0 = machineBusyCpuMs();
  const t0 = performance.now();
  const worker = async () => {
    while (failure === undefined && next < o.count) {
      const i = next++;
      const start = performance.now();
      try {
        const n = await o.login();
        requests += n;
      } catch (err) {
        if (failure === undefined) failure = Object.assign(err as object, { message: `${o.name}: login #${i + 1} failed: ${(err as Error).message}` });
        return;
      }
      latencies.push(performance.now() - start);
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, o.count) }, worker));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const target1 = o.targetCpuMs?.();
  const machine1 = machineBusyCpuMs();
  const elu = performance.eventLoopUtilization(elu0);
  if (failure !== undefined) throw failure;

  const ownMs = (cpu.user + cpu.system) / 1000;
  const targetMs = target0 !== undefined && target1 !== undefined ? target1 - target0 : 0;
  const otherLoadCores = machine0 !== undefined && machine1 !== undefined ? Math.max(0, machine1 - machine0 - ownMs - targetMs) / wallMs : undefined;
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    name: o.name,
    count: o.count,
    concurrency: o.concurrency,
    requestsPerLogin: o.count ? requests / o.count : 0,
    wallMs,
    perSecond: o.count ? (o.count * 1000) / wallMs : 0,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    max: sorted[sorted.length - 1] ?? NaN,
    mean: sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1),
    cpuMsPerLogin: o.count ? (cpu.user + cpu.system) / 1000 / o.count : 0,
    eventLoopUtilization: elu.utilization,
    latencies: sorted,
    ...(target0 !== undefined && target1 !== undefined && o.count ? { targetCpuMsPerLogin: targetMs / o.count } : {}),
    ...(otherLoadCores !== undefined ? { otherLoadCores } : {}),
  };
}

/**
 * One result from several rounds of the same kind of login (the rounds of the
 * different kinds interleave, so a drift in the machine's speed reaches every
 * kind alike): totals are summed, shares weighted by wall time.
 */
export function mergeRounds(name: string, rounds: PhaseResult[]): PhaseResult {
  const count = rounds.reduce((a, r) => a + r.count, 0);
  const wallMs = rounds.reduce((a, r) => a + r.wallMs, 0);
  const latencies = rounds.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const byWall = (f: (r: PhaseResult) => number) => rounds.reduce((a, r) => a + f(r) * r.wallMs, 0) / (wallMs || 1);
  const byCount = (f: (r: PhaseResult) => number) => rounds.reduce((a, r) => a + f(r) * r.count, 0) / (count || 1);
  const known = <K extends keyof PhaseResult>(k: K) => rounds.every((r) => r[k] !== undefined);
  return {
    name,
    count,
    concurrency: rounds[0]?.concurrency ?? 0,
    requestsPerLogin: byCount((r) => r.requestsPerLogin),
    wallMs,
    perSecond: count ? (count * 1000) / wallMs : 0,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    max: latencies[latencies.length - 1] ?? NaN,
    mean: latencies.reduce((a, b) => a + b, 0) / (latencies.length || 1),
    cpuMsPerLogin: byCount((r) => r.cpuMsPerLogin),
    eventLoopUtilization: byWall((r) => r.eventLoopUtilization),
    latencies,
    ...(known('targetCpuMsPerLogin') ? { targetCpuMsPerLogin: byCount((r) => r.targetCpuMsPerLogin!) } : {}),
    ...(known('otherLoadCores') ? { otherLoadCores: byWall((r) => r.otherLoadCores!) } : {}),
  };
}
