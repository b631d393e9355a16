// check.mjs: a gRPC client that is not written in Go (Node, @grpc/grpc-js)
// calls the greeter server and checks that it reads Bulwark's error contract
// from the wire: the gRPC code, google.rpc.ErrorInfo (reason, domain,
// metadata), bulwark.v1.ApplicationError (retryable), google.rpc.BadRequest,
// RetryInfo and the grpc-retry-pushback-ms trailer; that an ordinary Go
// error or a panic arrives as INTERNAL with a generic message; and that no
// error carries anything of the server's internals (the secret text of the
// cause, a stack, google.rpc.DebugInfo), neither in the message nor in any
// trailer nor in the raw status details.
//
// grpc-js does not decode status details, so this script decodes the
// grpc-status-details-bin trailer itself, as any non-Go client would, with
// protobufjs and the public .proto files: google/rpc/*.proto from
// google-proto-files and bulwark/v1/application_error.proto from this repo.
//
// Usage: node check.mjs HOST:PORT   (a greeter server started with -chaos)
// Prints one JSON object; exits 0 when every check passed, 1 when one
// failed, 2 on a usage or setup error.

import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..', '..');
const googleProtos = path.dirname(require.resolve('google-proto-files/package.json'));

// The secret every injected internal failure holds on the server
// (greeter.Secret), and what a Go stack trace looks like. None may reach us.
const SECRET = 'hunter2';
const FORBIDDEN = [SECRET, 'goroutine ', 'runtime/debug', '.go:', 'panic(', '10.0.0.5', 'password'];

const CALL_DEADLINE_MS = 5000;

function usage(msg) {
  process.stderr.write(`check.mjs: ${msg}\nusage: node check.mjs HOST:PORT\n`);
  process.exit(2);
}

// loadStatusTypes loads google.rpc.Status, the google.rpc error details and
// bulwark.v1.ApplicationError into one protobufjs Root, resolving imports
// against google-proto-files and this repository's proto/ directory.
function loadStatusTypes() {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => {
    if (path.isAbsolute(target)) return target;
    if (target.startsWith('google/')) return path.join(googleProtos, target);
    if (target.startsWith('bulwark/')) return path.join(repo, 'proto', target);
    return path.resolve(path.dirname(origin), target);
  };
  root.loadSync(
    ['google/rpc/status.proto', 'google/rpc/error_details.proto', 'bulwark/v1/application_error.proto'],
    { keepCase: true },
  );
  return root;
}

function loadGreeter() {
  const def = protoLoader.loadSync('greeter/v1/greeter.proto', {
    includeDirs: [path.join(repo, 'examples', 'greeter', 'proto')],
    keepCase: true,
  });
  return grpc.loadPackageDefinition(def).greeter.v1.Greeter;
}

const codeNames = Object.fromEntries(Object.entries(grpc.status).map(([name, n]) => [n, name]));

// decodeDetails decodes the grpc-status-details-bin trailer: a
// google.rpc.Status whose details are Any messages.
function decodeDetails(root, raw) {
  const Status = root.lookupType('google.rpc.Status');
  const st = Status.decode(raw);
  const details = {};
  for (const any of st.details) {
    const name = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
    let type;
    try {
      type = root.lookupType(name);
    } catch {
      details[name] = { undecoded: true };
      continue;
    }
    details[name] = type.toObject(type.decode(any.value), { longs: Number, defaults: true });
  }
  return { code: st.code, message: st.message, details };
}

function call(client, fault) {
  const md = new grpc.Metadata();
  if (fault) md.set('greeter-fault', fault);
  return new Promise((resolve) => {
    const deadline = new Date(Date.now() + CALL_DEADLINE_MS);
    client.SayHello({ name: 'Node' }, md, { deadline }, (err, reply) => resolve({ err, reply }));
  });
}

// The cases: the fault each call asks for and what must reach us.
const CASES = [
  { name: 'success', fault: '', code: 'OK' },
  {
    name: 'DB_ERROR', fault: 'error=DB_ERROR', code: 'UNAVAILABLE', reason: 'DB_ERROR', retryable: true,
  },
  {
    name: 'VALIDATION_ERROR', fault: 'error=VALIDATION_ERROR', code: 'INVALID_ARGUMENT', reason: 'VALIDATION_ERROR',
    retryable: false, field: 'name',
  },
  {
    name: 'EXTERNAL_SERVICE_ERROR', fault: 'error=EXTERNAL_SERVICE_ERROR,retry-after=250ms', code: 'UNAVAILABLE',
    reason: 'EXTERNAL_SERVICE_ERROR', retryable: true, service: 'weather-api', retryDelayMs: 250,
  },
  {
    name: 'plain-error', fault: 'plain-error', code: 'INTERNAL', reason: 'INTERNAL_ERROR', retryable: false,
    internal: true,
  },
  {
    name: 'panic', fault: 'panic', code: 'INTERNAL', reason: 'INTERNAL_ERROR', retryable: false, internal: true,
  },
];

function durationMs(d) {
  if (!d) return null;
  return Number(d.seconds || 0) * 1000 + Math.round((d.nanos || 0) / 1e6);
}

async function runCase(client, root, c) {
  const { err, reply } = await call(client, c.fault);
  const failed = [];
  const expect = (ok, what) => { if (!ok) failed.push(what); };
  const result = { name: c.name, fault: c.fault };

  if (!err) {
    result.code = 'OK';
    result.reply = reply.message;
    expect(c.code === 'OK', `got OK; want ${c.code}`);
    expect(reply.message === 'Hello, Node!', `reply ${JSON.stringify(reply.message)}; want "Hello, Node!"`);
    result.failed = failed;
    return result;
  }

  result.code = codeNames[err.code] ?? String(err.code);
  result.message = err.details;
  expect(result.code === c.code, `code ${result.code}; want ${c.code}`);

  const raw = err.metadata?.get('grpc-status-details-bin')?.[0];
  expect(Buffer.isBuffer(raw), 'no grpc-status-details-bin trailer');
  if (!Buffer.isBuffer(raw)) {
    result.failed = failed;
    return result;
  }
  result.details_bytes = raw.length;
  const st = decodeDetails(root, raw);
  result.detail_types = Object.keys(st.details);
  expect(st.code === err.code, `Status.code ${st.code}; the trailer says ${err.code}`);

  const info = st.details['google.rpc.ErrorInfo'];
  const app = st.details['bulwark.v1.ApplicationError'];
  const req = st.details['google.rpc.RequestInfo'];
  expect(info, 'no google.rpc.ErrorInfo');
  expect(app, 'no bulwark.v1.ApplicationError');
  result.reason = info?.reason;
  result.domain = info?.domain;
  result.metadata = info?.metadata;
  result.retryable = app?.retryable;
  result.request_id = req?.request_id;
  expect(info?.reason === c.reason, `ErrorInfo.reason ${info?.reason}; want ${c.reason}`);
  expect(info?.domain === 'greeter.v1.Greeter', `ErrorInfo.domain ${info?.domain}; want greeter.v1.Greeter`);
  expect(app?.code === c.reason, `ApplicationError.code ${app?.code}; want ${c.reason}`);
  expect(app?.retryable === c.retryable, `retryable ${app?.retryable}; want ${c.retryable}`);
  expect(req?.request_id, 'no google.rpc.RequestInfo.request_id');

  if (c.field) {
    const violations = st.details['google.rpc.BadRequest']?.field_violations ?? [];
    result.field = violations[0]?.field;
    expect(violations.length === 1 && violations[0].field === c.field,
      `BadRequest field violations ${JSON.stringify(violations)}; want one on ${c.field}`);
  }
  if (c.service) {
    expect(info?.metadata?.service === c.service, `ErrorInfo.metadata.service ${info?.metadata?.service}; want ${c.service}`);
  }
  if (c.retryDelayMs) {
    const retryInfo = st.details['google.rpc.RetryInfo'];
    result.retry_delay_ms = durationMs(retryInfo?.retry_delay);
    expect(result.retry_delay_ms === c.retryDelayMs, `RetryInfo.retry_delay ${result.retry_delay_ms}ms; want ${c.retryDelayMs}ms`);
    const pushback = err.metadata.get('grpc-retry-pushback-ms')[0];
    result.pushback_ms = pushback;
    expect(pushback === String(c.retryDelayMs), `grpc-retry-pushback-ms ${pushback}; want ${c.retryDelayMs}`);
  }
  if (c.internal) {
    expect(err.details === 'internal error', `message ${JSON.stringify(err.details)}; want "internal error"`);
  }
  // Whatever the error, nothing of the server's internals may arrive: look
  // at the message, every trailer (binary ones as raw bytes) and the decoded
  // details.
  expect(!st.details['google.rpc.DebugInfo'], 'a google.rpc.DebugInfo was sent');
  const received = [err.details, raw.toString('latin1'), JSON.stringify(st)];
  for (const [key, values] of Object.entries(err.metadata.toJSON())) {
    for (const v of values) received.push(key, Buffer.isBuffer(v) ? v.toString('latin1') : String(v));
  }
  const text = received.join('\n');
  result.leaked = FORBIDDEN.filter((s) => text.includes(s));
  expect(result.leaked.length === 0, `the client received ${JSON.stringify(result.leaked)}`);
  result.failed = failed;
  return result;
}

async function main() {
  const target = process.argv[2];
  if (!target || process.argv.length > 3) usage('want exactly one argument, the server address');
  if (!/^(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(target)) usage(`${target}: want a loopback address such as 127.0.0.1:50051`);

  let root;
  let Greeter;
  try {
    root = loadStatusTypes();
    Greeter = loadGreeter();
  } catch (e) {
    usage(`loading the .proto files: ${e.message}`);
  }
  const client = new Greeter(target, grpc.credentials.createInsecure());
  const cases = [];
  try {
    for (const c of CASES) cases.push(await runCase(client, root, c));
  } finally {
    client.close();
  }
  const ok = cases.every((c) => c.failed.length === 0);
  let grpcJs;
  try {
    grpcJs = require('@grpc/grpc-js/package.json').version;
  } catch {
    grpcJs = 'unknown';
  }
  process.stdout.write(`${JSON.stringify({ ok, target, client: `node ${process.version}, @grpc/grpc-js ${grpcJs}`, cases })}\n`);
  process.exitCode = ok ? 0 : 1;
}

main().catch((e) => {
  process.stderr.write(`check.mjs: ${e.stack ?? e}\n`);
  process.exit(2);
});
