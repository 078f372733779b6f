/** A throwaway TLS certificate for tests, made with the system's openssl. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** A self-signed certificate for 127.0.0.1, made with the system's openssl; `remove()` deletes it. */
export function makeCertificate(): { cert: string; key: string; ca: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "chat-hostile-tls-"));
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  // prettier-ignore
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ],
    { stdio: "ignore" },
  );
  return { cert, key, ca: readFileSync(cert, "utf8"), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
