import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Whether `openssl` can be run. When it cannot, a suite that needs it fails
 * under CI=true and otherwise says loudly that `what` was not run.
 *
 * @example
 * describe.runIf(requireOpenssl('the TLS tests'))('TLS', () => {}); // the suite's tests go in the callback
 */
export function requireOpenssl(what: string): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error(`openssl is required for ${what} and is missing`);
    console.warn(`\n*** openssl not found: ${what} were NOT run ***\n`);
    return false;
  }
}

export interface SelfSignedCert extends Disposable {
  keyPath: string;
  certPath: string;
  key: Buffer;
  cert: Buffer;
}

/**
 * A throwaway EC certificate for 127.0.0.1 and localhost, made with openssl
 * at test time (nothing secret is committed). Disposing removes the files.
 *
 * @example
 * using tls = makeSelfSignedCert();
 * createCorbelServer({ router, tls: { key: tls.key, cert: tls.cert } });
 */
export function makeSelfSignedCert(): SelfSignedCert {
  const dir = mkdtempSync(join(tmpdir(), 'corbel-cert-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  return {
    keyPath,
    certPath,
    key: readFileSync(keyPath),
    cert: readFileSync(certPath),
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  };
}
