/**
 * Child processes of the end-to-end benchmark: a server (one per contender and round) and the
 * load generator, both spoken to through stdout lines; what the kernel says about a server
 * (CPU time, RSS) is read from /proc.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

/** Lines a child printed, and waiting for the next one that matches. */
class Lines {
  private readonly seen: string[] = [];
  private waiter: { match: (line: string) => boolean; resolve: (line: string) => void } | null = null;
  private ended = false;
  private endWaiter: (() => void) | null = null;

  constructor(child: ChildProcess) {
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      if (this.waiter?.match(line)) {
        const { resolve } = this.waiter;
        this.waiter = null;
        resolve(line);
      } else this.seen.push(line);
    });
    lines.on("close", () => {
      this.ended = true;
      this.endWaiter?.();
    });
  }

  /** The next line starting with `prefix` (also one printed before the call and not yet taken). */
  next(prefix: string, timeoutMs: number, what: string): Promise<string> {
    const index = this.seen.findIndex((line) => line.startsWith(prefix));
    if (index >= 0) return Promise.resolve(this.seen.splice(index, 1)[0]!);
    if (this.ended) return Promise.reject(new Error(`${what}: exited before printing "${prefix}"`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what}: no "${prefix}" within ${timeoutMs} ms`)), timeoutMs);
      this.waiter = {
        match: (line) => line.startsWith(prefix),
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      this.endWaiter = () => {
        clearTimeout(timer);
        reject(new Error(`${what}: exited before printing "${prefix}"`));
      };
    });
  }
}

/**
 * Runs `command` from `cwd`; with `fileLimit`, under a shell that raises the soft limit of open
 * files first (`exec` keeps the pid, so /proc still reads the program itself).
 */
function start(command: readonly string[], cwd: string, fileLimit: number | null): { child: ChildProcess; stderr: () => string } {
  const [file, ...args] = fileLimit === null ? command : ["bash", "-c", `ulimit -n ${fileLimit} && exec "$@"`, "bash", ...command];
  const child = spawn(file!, args, { cwd, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (data: Buffer) => {
    stderr = (stderr + data.toString()).slice(-4000);
  });
  return { child, stderr: () => stderr };
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

export class ServerProcess {
  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    private readonly lines: Lines,
    private readonly stderr: () => string,
    readonly port: number,
  ) {}

  static async start(name: string, command: readonly string[], cwd: string, fileLimit: number | null): Promise<ServerProcess> {
    const { child, stderr } = start(command, cwd, fileLimit);
    const lines = new Lines(child);
    try {
      const line = await lines.next("listening ", 30_000, `server ${name}`);
      return new ServerProcess(name, child, lines, stderr, Number(line.slice("listening ".length)));
    } catch (error) {
      child.kill("SIGKILL");
      throw new Error(`${(error as Error).message}\n${stderr()}`);
    }
  }

  /** CPU seconds (user + system) the server has used so far. */
  cpuSeconds(): number {
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${this.child.pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux.
  }

  /** Resident set size in KiB. */
  rssKiB(): number {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${this.child.pid}/status`, "utf8"));
    if (match === null) throw new Error(`server ${this.name}: no VmRSS`);
    return Number(match[1]);
  }

  /** Asks for a full GC, waits until it ran, and returns the JS heap and external memory then, in KiB. */
  async collectGarbage(): Promise<number> {
    this.child.stdin!.write("gc\n");
    const line = await this.lines.next("gc ", 30_000, `server ${this.name}`);
    const usage = JSON.parse(line.slice(3)) as { heapUsed: number; external: number };
    return (usage.heapUsed + usage.external) / 1024;
  }

  /** SIGTERM (the servers exit through process.exit, so --cpu-prof writes), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    const done = exited(this.child);
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await done;
    clearTimeout(timer);
  }

  get errors(): string {
    return this.stderr();
  }
}

/** The load generator running one spec; `phases` gets each `phase …` line as it comes. */
export async function runGenerator(
  spec: object,
  cwd: string,
  fileLimit: number | null,
  onPhase: (phase: string, generator: { write: (text: string) => void }) => Promise<void> | void,
): Promise<{ count: number; seconds: number; cpu: number }> {
  const { child, stderr } = start(["node", "--import", "tsx", "bench/e2e/load.ts", JSON.stringify(spec)], cwd, fileLimit);
  const writer = { write: (text: string): void => void child.stdin!.write(text) };
  const lines = createInterface({ input: child.stdout! });
  let result: { count: number; seconds: number; cpu: number } | null = null;
  let phases = Promise.resolve();
  let failure: Error | null = null;
  lines.on("line", (line) => {
    if (line.startsWith("phase ")) {
      phases = phases
        .then(() => onPhase(line.slice("phase ".length), writer))
        .catch((error: Error) => {
          failure = error;
          child.kill("SIGKILL");
        });
    }
    else if (line.startsWith("result ")) result = JSON.parse(line.slice("result ".length)) as typeof result;
  });
  const code = await exited(child);
  await phases;
  if (failure !== null) throw failure;
  if (code !== 0 || result === null) throw new Error(`load generator failed (exit ${code}):\n${stderr()}`);
  return result;
}
