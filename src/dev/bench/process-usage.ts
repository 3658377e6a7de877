import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of the CPU times in /proc (`getconf CLK_TCK`; 100 on almost every Linux). */
const CLOCK_TICKS = (() => {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
})();

interface ProcStat {
  ppid: number;
  /** utime + stime + cutime + cstime: its own time and that of children it has waited for. */
  ticks: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name (which may hold spaces), numbered as in proc(5) from 3.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const field = (n: number) => Number(fields[n - 3]);
  return { ppid: field(4), ticks: field(14) + field(15) + field(16) + field(17) };
}

/**
 * CPU seconds used so far by each process and everything below it, from /proc (Linux). A process
 * that is gone or a machine without /proc gives undefined.
 */
export function processTreeCpuSeconds(pids: Record<string, number | undefined>): Record<string, number | undefined> {
  const stats = new Map<number, ProcStat>();
  const children = new Map<number, number[]>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    // Not Linux: no figures.
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const stat = readStat(pid);
    if (!stat) continue;
    stats.set(pid, stat);
    children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), pid]);
  }
  const treeTicks = (root: number): number | undefined => {
    if (!stats.has(root)) return undefined;
    let ticks = 0;
    const pending = [root];
    for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
      ticks += stats.get(pid)?.ticks ?? 0;
      pending.push(...(children.get(pid) ?? []));
    }
    return ticks;
  };
  return Object.fromEntries(
    Object.entries(pids).map(([name, pid]) => {
      const ticks = pid === undefined ? undefined : treeTicks(pid);
      return [name, ticks === undefined ? undefined : ticks / CLOCK_TICKS];
    }),
  );
}

/** A process's resident set size in bytes (VmRSS in /proc/<pid>/status), or undefined. */
export function residentBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}
