/** A real terminal for interactive tests: tmux runs the command, we type and read the screen. */
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

export class Terminal {
  private constructor(readonly name: string) {}

  static open(command: string, cols = 100, rows = 30): Terminal {
    const name = `runcvm-e2e-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    // The trailing read keeps the pane alive after the command so its exit status can be read.
    execFileSync('tmux', [
      'new-session',
      '-d',
      '-s',
      name,
      '-x',
      String(cols),
      '-y',
      String(rows),
      `${command}; echo "[exit=$?]"; read -r _`,
    ]);
    return new Terminal(name);
  }

  type(...keys: string[]): void {
    execFileSync('tmux', ['send-keys', '-t', this.name, ...keys]);
  }

  line(text: string): void {
    this.type(text, 'Enter');
  }

  screen(): string {
    return execFileSync('tmux', ['capture-pane', '-p', '-t', this.name, '-S', '-200'], { encoding: 'utf8' });
  }

  resize(cols: number, rows: number): void {
    execFileSync('tmux', ['resize-window', '-t', this.name, '-x', String(cols), '-y', String(rows)]);
  }

  async waitFor(pattern: RegExp, timeoutMs = 120_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.screen().match(pattern);
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`terminal never showed ${pattern}; screen:\n${this.screen()}`);
      await sleep(100);
    }
  }

  close(): void {
    try {
      execFileSync('tmux', ['kill-session', '-t', this.name], { stdio: 'ignore' });
    } catch {
      // Already gone.
    }
  }
}
