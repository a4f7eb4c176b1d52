/** The package's version, as `--version` prints it and the heartbeat publishes it. */
import { readFileSync } from 'node:fs';

export function packageVersion(): string {
  // src/cli/version.ts, dist/cli/version.js and the dist/bundle chunks sit two levels below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? '0.0.0';
}
