/**
 * Where bench results go: one JSON file per run in bench/results/ (git-ignored)
 * holding the scenario, the options used, the machine, the git commit and the
 * rows measured, plus an optional SVG chart beside it with the same name.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../testkit/paths.js';

export const RESULTS_DIR = path.join(PROJECT_ROOT, 'bench/results');

export interface MachineInfo {
  cpu_model: string;
  cores: number;
  memory_gib: number;
  node: string;
  os: string;
  /** 1-minute load average when the run started: other work on the machine skews every figure. */
  load_avg_1m: number;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu_model: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    load_avg_1m: Math.round(os.loadavg()[0] * 100) / 100,
  };
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: PROJECT_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** What a scenario hands back to be printed and saved. */
export interface ScenarioResult {
  rows: object[];
  /** Scenario-wide figures that are not one row each (e.g. the largest N kept in real time). */
  summary?: object;
  chartSvg?: string;
}

export interface RunInfo {
  scenario: string;
  options: object;
  startedAt: Date;
  /** Taken when the run started, so the load average is the one the run met. */
  machine: MachineInfo;
}

/** Writes `<scenario>-<timestamp>.json` (and `.svg`); returns the JSON path. */
export function saveResults(run: RunInfo, result: ScenarioResult): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stem = path.join(RESULTS_DIR, `${run.scenario}-${run.startedAt.toISOString().replace(/[:.]/g, '-')}`);
  const record = {
    scenario: run.scenario,
    timestamp: run.startedAt.toISOString(),
    git_commit: git(['rev-parse', 'HEAD']) || 'unknown',
    git_dirty: git(['status', '--porcelain']) !== '',
    machine: run.machine,
    options: run.options,
    summary: result.summary ?? {},
    rows: result.rows,
  };
  writeFileSync(`${stem}.json`, `${JSON.stringify(record, null, 2)}\n`);
  console.log(`results: ${path.relative(process.cwd(), `${stem}.json`)}`);
  if (result.chartSvg) {
    writeFileSync(`${stem}.svg`, result.chartSvg);
    console.log(`chart:   ${path.relative(process.cwd(), `${stem}.svg`)}`);
  }
  return `${stem}.json`;
}
