// SPDX-License-Identifier: Apache-2.0
/// An independent check of what hoist signs: sigstore-js verifies one DSSE envelope,
/// bundle, legacy cosign signature or in-toto statement and prints one JSON verdict line.
//
// Offline on purpose: the top-level `sigstore` package always refreshes TUF metadata, so
// only @sigstore/verify, @sigstore/bundle and @sigstore/core are used, with an empty
// trusted root and the caller's public key.
//
//   node verify.js dsse      --envelope FILE --key PUB.pem [--any]
//   node verify.js bundle    --bundle FILE --key PUB.pem [--artifact FILE]
//   node verify.js message   --payload FILE --signature-b64 B64|@FILE --key PUB.pem
//   node verify.js statement --envelope FILE --key PUB.pem --subject-sha256 HEX
//                            [--predicate-type URI] [--any]
//   node verify.js key       --private KEY --password-file FILE --key PUB.pem
//     (an encrypted cosign.key opened as cosign's readers open it: scrypt, then NaCl
//     secretbox via tweetnacl, then PKCS#8; its public key must be PUB.pem's)
//
// stdout: {"ok":true|false,"code":"...","message":"..."}. Exit 0 verified, 1 rejected,
// 2 bad usage, unreadable input, or a fault of this script (never a verdict).
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const nacl = require('tweetnacl');

const {
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
  ValidationError,
  bundleFromJSON,
  envelopeFromJSON,
} = require('@sigstore/bundle');
const core = require('@sigstore/core');
const { TrustedRoot } = require('@sigstore/protobuf-specs');
const {
  PolicyError,
  VerificationError,
  Verifier,
  toSignedEntity,
  toTrustMaterial,
} = require('@sigstore/verify');

const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const STATEMENT_TYPES = ['https://in-toto.io/Statement/v0.1', 'https://in-toto.io/Statement/v1'];

/// The input was read but does not verify: exit 1.
class Rejection extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/// The command line or an input file is wrong: exit 2.
class UsageError extends Error {}

function readInput(file) {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${e.message}`);
  }
}

function parseJSON(bytes, what) {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new Rejection('MALFORMED_INPUT', `${what} is not JSON: ${e.message}`);
  }
}

/// Only P-256 keys: sigstore-js verifies without naming a hash, and SHA-256 is only the
/// right default for that curve.
function readPublicKey(file) {
  let key;
  try {
    key = core.crypto.createPublicKey(readInput(file).toString('utf8'));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new Rejection('PUBLIC_KEY_ERROR', `${file} is not a PEM public key: ${e.message}`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails.namedCurve !== 'prime256v1') {
    throw new Rejection('PUBLIC_KEY_ERROR', `${file} is not an ECDSA P-256 key`);
  }
  const spkiDer = key.export({ type: 'spki', format: 'der' });
  const hint = crypto.createHash('sha256').update(spkiDer).digest('base64');
  return { key, spkiDer, hint };
}

function readEnvelope(file) {
  const json = parseJSON(readInput(file), file);
  try {
    return envelopeFromJSON(json);
  } catch (e) {
    throw new Rejection('MALFORMED_INPUT', `${file} is not a DSSE envelope: ${e.message}`);
  }
}

/// Verifies a bare envelope over its PAE. sigstore only ever looks at signatures[0], so
/// more than one is refused unless `any` asks for cosign's legacy rule (one of them).
function verifyEnvelope(envelope, publicKey, any) {
  const count = envelope.signatures.length;
  if (count === 0 || (!any && count !== 1)) {
    throw new Rejection('SIGNATURE_COUNT_ERROR', `the envelope has ${count} signatures, want 1`);
  }
  const pae = core.dsse.preAuthEncoding(envelope.payloadType, envelope.payload);
  const index = envelope.signatures.findIndex((s) => core.crypto.verify(pae, publicKey.key, s.sig));
  if (index < 0) {
    throw new Rejection('SIGNATURE_ERROR', 'no envelope signature verifies with the key');
  }
  return `DSSE signature ${index + 1}/${count} verified, payloadType ${envelope.payloadType}, ` +
    `${envelope.payload.length} payload bytes`;
}

const EMPTY_ROOT = TrustedRoot.fromJSON({
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
});

/// The key is registered under its own hint only, so a bundle whose hint names another
/// key fails in sigstore-js's own lookup (PUBLIC_KEY_ERROR), as it would in sigstore-go.
function verifyBundleJSON(json, publicKey, artifact) {
  let bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (e) {
    const fields = e instanceof ValidationError && e.fields ? ` (${e.fields.join(', ')})` : '';
    throw new Rejection('INVALID_BUNDLE', `${e.message}${fields}`);
  }
  if (bundle.mediaType !== BUNDLE_V03_MEDIA_TYPE && bundle.mediaType !== BUNDLE_V03_LEGACY_MEDIA_TYPE) {
    throw new Rejection('INVALID_BUNDLE', `media type ${bundle.mediaType} is not bundle v0.3`);
  }
  if (bundle.verificationMaterial.content.$case !== 'publicKey') {
    throw new Rejection('PUBLIC_KEY_ERROR',
      `the bundle carries ${bundle.verificationMaterial.content.$case}, not a public-key hint`);
  }
  const content = bundle.content.$case;
  // Without a tlog entry sigstore-js never compares messageDigest with the artifact, and
  // a DSSE bundle ignores the artifact: both would pass unnoticed, so both are refused.
  if (content === 'messageSignature' && artifact === undefined) {
    throw new UsageError('a messageSignature bundle needs --artifact');
  }
  if (content === 'dsseEnvelope' && artifact !== undefined) {
    throw new UsageError('--artifact is only for messageSignature bundles');
  }
  const keys = { [publicKey.hint]: { rawBytes: publicKey.spkiDer } };
  const verifier = new Verifier(toTrustMaterial(EMPTY_ROOT, keys), {
    tlogThreshold: 0,
    ctlogThreshold: 0,
    timestampThreshold: 0,
  });
  verifier.verify(toSignedEntity(bundle, artifact));
  if (content === 'messageSignature') {
    const digest = bundle.content.messageSignature.messageDigest.digest;
    if (!digest.equals(crypto.createHash('sha256').update(artifact).digest())) {
      throw new Rejection('MESSAGE_DIGEST_ERROR', 'messageDigest is not the SHA-256 of the artifact');
    }
  }
  return `bundle ${bundle.mediaType} (${content}) verified with key ${publicKey.hint}`;
}

const ENCRYPTED_KEY_LABELS = ['ENCRYPTED SIGSTORE PRIVATE KEY', 'ENCRYPTED COSIGN PRIVATE KEY'];

/// The PKCS#8 key inside an encrypted cosign key file, opened with `password`.
function openEncryptedKey(pemText, password) {
  const block = pemText.match(/-----BEGIN ([A-Z ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END \1-----/);
  if (!block || !ENCRYPTED_KEY_LABELS.includes(block[1])) {
    throw new Rejection('KEY_FORMAT', `no ${ENCRYPTED_KEY_LABELS.join(' or ')} block`);
  }
  const sealed = parseJSON(Buffer.from(block[2].replace(/\s+/g, ''), 'base64'), 'the key block');
  const kdf = sealed && sealed.kdf;
  const cipher = sealed && sealed.cipher;
  if (!kdf || kdf.name !== 'scrypt' || !kdf.params || !cipher || cipher.name !== 'nacl/secretbox') {
    throw new Rejection('KEY_FORMAT', 'want kdf scrypt and cipher nacl/secretbox');
  }
  const { N, r, p } = kdf.params;
  const secret = crypto.scryptSync(Buffer.from(password, 'utf8'), Buffer.from(kdf.salt, 'base64'), 32,
    { N, r, p, maxmem: 128 * N * r * 2 });
  const opened = nacl.secretbox.open(new Uint8Array(Buffer.from(sealed.ciphertext, 'base64')),
    new Uint8Array(Buffer.from(cipher.nonce, 'base64')), new Uint8Array(secret));
  if (!opened) {
    throw new Rejection('KEY_PASSWORD', 'the secretbox does not open with this password');
  }
  return crypto.createPrivateKey({ key: Buffer.from(opened), format: 'der', type: 'pkcs8' });
}

function isStandardBase64(text) {
  return text.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(text);
}

const commands = {
  dsse: {
    required: ['envelope', 'key'],
    flags: ['any'],
    run(options) {
      return verifyEnvelope(readEnvelope(options.envelope), readPublicKey(options.key), options.any);
    },
  },

  bundle: {
    required: ['bundle', 'key'],
    optional: ['artifact'],
    run(options) {
      const json = parseJSON(readInput(options.bundle), options.bundle);
      const artifact = options.artifact === undefined ? undefined : readInput(options.artifact);
      return verifyBundleJSON(json, readPublicKey(options.key), artifact);
    },
  },

  // A legacy `.sig` layer: the payload is the artifact, the annotation's DER signature
  // goes into a messageSignature bundle built here the way cosign v3 would write it.
  message: {
    required: ['payload', 'signature-b64', 'key'],
    run(options) {
      const payload = readInput(options.payload);
      let signature = options['signature-b64'];
      if (signature.startsWith('@')) {
        signature = readInput(signature.slice(1)).toString('utf8').trim();
      }
      if (!isStandardBase64(signature) || signature.length === 0) {
        throw new Rejection('MALFORMED_INPUT', 'the signature is not standard base64');
      }
      const publicKey = readPublicKey(options.key);
      const bundle = {
        mediaType: BUNDLE_V03_MEDIA_TYPE,
        verificationMaterial: { publicKey: { hint: publicKey.hint } },
        messageSignature: {
          messageDigest: {
            algorithm: 'SHA2_256',
            digest: crypto.createHash('sha256').update(payload).digest('base64'),
          },
          signature,
        },
      };
      return verifyBundleJSON(bundle, publicKey, payload);
    },
  },

  key: {
    required: ['private', 'password-file', 'key'],
    run(options) {
      const password = readInput(options['password-file']).toString('utf8');
      const privateKey = openEncryptedKey(readInput(options.private).toString('utf8'), password);
      const curve = privateKey.asymmetricKeyDetails && privateKey.asymmetricKeyDetails.namedCurve;
      if (privateKey.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
        throw new Rejection('KEY_TYPE', `a ${privateKey.asymmetricKeyType} key (${curve}), not ECDSA P-256`);
      }
      const derived = crypto.createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
      const published = crypto.createPublicKey(readInput(options.key)).export({ type: 'spki', format: 'der' });
      if (!derived.equals(published)) {
        throw new Rejection('KEY_MISMATCH', `the private key's public key is not ${options.key}`);
      }
      return `encrypted ECDSA P-256 key opened; its public key is ${options.key}`;
    },
  },

  statement: {
    required: ['envelope', 'key', 'subject-sha256'],
    optional: ['predicate-type'],
    flags: ['any'],
    run(options) {
      const subjectDigest = options['subject-sha256'].toLowerCase();
      if (!/^[0-9a-f]{64}$/.test(subjectDigest)) {
        throw new UsageError('--subject-sha256 wants 64 hex digits');
      }
      const envelope = readEnvelope(options.envelope);
      const verified = verifyEnvelope(envelope, readPublicKey(options.key), options.any);
      if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
        throw new Rejection('PAYLOAD_TYPE_ERROR',
          `payloadType is ${envelope.payloadType}, want ${IN_TOTO_PAYLOAD_TYPE}`);
      }
      const statement = parseJSON(envelope.payload, 'the payload');
      if (statement === null || typeof statement !== 'object' || !STATEMENT_TYPES.includes(statement._type)) {
        throw new Rejection('STATEMENT_ERROR', `_type ${statement && statement._type} is not an in-toto Statement`);
      }
      const subjects = Array.isArray(statement.subject) ? statement.subject : [];
      if (!subjects.some((s) => s && s.digest && s.digest.sha256 === subjectDigest)) {
        throw new Rejection('SUBJECT_ERROR', `no subject has sha256 ${subjectDigest}`);
      }
      const wantedType = options['predicate-type'];
      if (wantedType !== undefined && statement.predicateType !== wantedType) {
        throw new Rejection('PREDICATE_TYPE_ERROR',
          `predicateType is ${statement.predicateType}, want ${wantedType}`);
      }
      return `${verified}; ${statement._type}, subject sha256 ${subjectDigest}, ` +
        `predicateType ${statement.predicateType}`;
    },
  },
};

function parseOptions(command, args) {
  const valued = [...command.required, ...(command.optional || [])];
  const flags = command.flags || [];
  const options = {};
  for (let i = 0; i < args.length; i++) {
    const name = args[i].startsWith('--') ? args[i].slice(2) : undefined;
    if (flags.includes(name)) {
      options[name] = true;
    } else if (valued.includes(name) && i + 1 < args.length) {
      options[name] = args[++i];
    } else {
      throw new UsageError(`unexpected argument ${args[i]}`);
    }
  }
  const missing = command.required.filter((name) => options[name] === undefined);
  if (missing.length > 0) {
    throw new UsageError(`missing --${missing.join(', --')}`);
  }
  return options;
}

function verdictOf(error) {
  if (error instanceof UsageError) {
    return { status: 2, code: 'USAGE', message: error.message };
  }
  if (error instanceof Rejection || error instanceof VerificationError || error instanceof PolicyError) {
    return { status: 1, code: error.code, message: error.message };
  }
  return { status: 2, code: 'HARNESS_ERROR', message: error && error.stack ? error.stack : String(error) };
}

function main() {
  const [name, ...args] = process.argv.slice(2);
  let verdict;
  try {
    const command = Object.hasOwn(commands, name || '') ? commands[name] : undefined;
    if (!command) {
      throw new UsageError(`usage: verify.js ${Object.keys(commands).join('|')} OPTIONS...`);
    }
    verdict = { status: 0, code: 'OK', message: command.run(parseOptions(command, args)) };
  } catch (error) {
    verdict = verdictOf(error);
  }
  process.stdout.write(
    JSON.stringify({ ok: verdict.status === 0, code: verdict.code, message: verdict.message }) + '\n');
  process.exitCode = verdict.status;
}

main();
