/**
 * CPU time (user + system) of a process and all its descendants, from /proc
 * (Linux only): with BENCH_TARGET_PID, the server's own CPU per login when the
 * benchmark targets a node running in another process (`npm start` runs node
 * under tsx, so the tree is summed).
 */
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

interface Stat {
  ppid: number;
  ticks: number;
}

function readStat(pid: number): Stat | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // after "pid (comm) ": state ppid ... utime(14th field) stime(15th)
    return { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return undefined;
  }
}

/** A sampler for the process tree under `rootPid`, in CPU milliseconds; throws when /proc has no such process. */
export function processTreeCpu(rootPid: number): () => number {
  if (!readStat(rootPid)) throw new Error(`BENCH_TARGET_PID=${rootPid}: no such process (or no /proc on this system)`);
  return () => {
    const stats = new Map<number, Stat>();
    for (const name of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const s = readStat(Number(name));
      if (s) stats.set(Number(name), s);
    }
    const inTree = (pid: number): boolean => {
      for (let p = pid, i = 0; p > 1 && i < 64; i++) {
        if (p === rootPid) return true;
        p = stats.get(p)?.ppid ?? 0;
      }
      return false;
    };
    let ticks = 0;
    for (const [pid, s] of stats) if (inTree(pid)) ticks += s.ticks;
    return (ticks * 1000) / clockTicks();
  };
}

/** Busy CPU time of the whole machine so far, in ms (all cores, from /proc/stat); undefined off Linux. */
export function machineBusyCpuMs(): number | undefined {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [, user, nice, system, _idle, _iowait, irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return (((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 1000) / clockTicks();
  } catch {
    return undefined;
  }
}
