/**
 * Benchmark entry point: `npm run bench -- <scenario> [options]`.
 * Scenarios: streams, offline, decode.
 */
import { benchDecode } from './decode.js';
import { benchOffline } from './offline.js';
import { benchStreams } from './streams.js';

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
}

async function main(): Promise<void> {
  const [scenario, ...args] = process.argv.slice(2);
  switch (scenario) {
    case 'streams':
      await benchStreams(option(args, 'n', '1,8,32').split(',').map(Number), Number(option(args, 'seconds', '30')));
      return;
    case 'offline':
      await benchOffline(option(args, 'model', '') || undefined);
      return;
    case 'decode':
      await benchDecode();
      return;
    default:
      console.error('usage: npm run bench -- <streams|offline|decode> [options]');
      process.exit(2);
  }
}

void main();
