/**
 * `--tls-cert` and `--tls-key`, checked before the listener opens: each
 * file must hold what its flag says, and the key must be the certificate's.
 * The TLS library only says "NO_START_LINE" or "KEY_VALUES_MISMATCH" about
 * some file; this says which file, and what is wrong with it.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { describeError, type TlsServerOptions } from "../reactor/backend.ts";

/** A certificate or key file that cannot be used: `FLAG: FILE is ...`, one line. */
export class TlsFileError extends Error {
  override readonly name = "TlsFileError";
  constructor(
    readonly flag: "--tls-cert" | "--tls-key",
    readonly file: string,
    /** What is wrong, a sentence about `file` (without the flag). */
    readonly problem: string,
  ) {
    super(`${flag}: ${problem}`);
  }
}

/**
 * What the TLS library said, without its `error:0900006e:PEM routines:OPENSSL_internal:`
 * prefix; `begin` is the PEM line that was looked for.
 */
function reason(err: unknown, begin: string): string {
  const message = (err as { message?: string } | null)?.message ?? String(err);
  const what = message
    .replace(/^error:[0-9a-f]+:[^:]*:[^:]*:/i, "")
    .replace(/_/g, " ")
    .toLowerCase();
  return what === "no start line" ? `no "${begin}" line` : what;
}

/** The certificate (the first of the chain) in `pem`, read from `file`. */
function parseCertificate(pem: string, file: string): X509Certificate {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem) && !pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new TlsFileError("--tls-cert", file, `${file} holds a private key, not a certificate (are --tls-cert and --tls-key swapped?)`);
  }
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new TlsFileError("--tls-cert", file, `${file} is not a PEM certificate (${reason(err, "-----BEGIN CERTIFICATE-----")})`);
  }
}

/** The private key in `pem`, read from `file`. */
function parseKey(pem: string, file: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ERR_MISSING_PASSPHRASE") {
      throw new TlsFileError("--tls-key", file, `${file} is encrypted; give the key without a passphrase`);
    }
    throw new TlsFileError("--tls-key", file, `${file} is not a PEM private key (${reason(err, "-----BEGIN ... PRIVATE KEY-----")})`);
  }
}

/**
 * Check a certificate chain and key given as PEM text: throws
 * `TlsFileError` naming the file at fault.
 */
export function checkTlsPair(cert: string, key: string, certFile: string, keyFile: string): TlsServerOptions {
  const certificate = parseCertificate(cert, certFile);
  const privateKey = parseKey(key, keyFile);
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new TlsFileError("--tls-key", keyFile, `${keyFile} is not the key of the certificate in ${certFile}`);
  }
  return { cert, key };
}

/** Read and check `--tls-cert` and `--tls-key`; throws `TlsFileError`. */
export function readTlsPair(certFile: string, keyFile: string): TlsServerOptions {
  const read = (file: string, flag: "--tls-cert" | "--tls-key") => {
    try {
      return readFileSync(file, "utf8");
    } catch (err) {
      throw new TlsFileError(flag, file, `cannot read ${file}: ${describeError(err)}`);
    }
  };
  return checkTlsPair(read(certFile, "--tls-cert"), read(keyFile, "--tls-key"), certFile, keyFile);
}
